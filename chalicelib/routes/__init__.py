"""HTTP routes, one Blueprint per area. Routes read the request, call one service (through
`bootstrap.container()`), return a dict; `views` and `pages` are what clients see (JSON, HTML)."""
