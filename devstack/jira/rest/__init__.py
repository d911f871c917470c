"""The REST API's handlers, one module per area; each handler takes the state (lock held) and
the request. ``routes.ROUTES`` maps method and path to them."""
