"""HTTP routes, one Blueprint per area. Routes read the request, call one service, return a dict."""
