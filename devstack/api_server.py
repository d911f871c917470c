"""The API as `chalice local` serves it, with what the deployed API does differently: an
unknown route is the gateway's 404 in the contract's shape, a burst of connections is queued."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

# What the deployed API answers for an unknown route (infra/template.json, RestAPI's
# MISSING_AUTHENTICATION_TOKEN gateway response); a unit test keeps the two equal.
UNKNOWN_ROUTE_BODY = {
    "error": {"code": "not_found", "message": "no route for this method and path", "details": []}
}


def serve_api(app: Any, config: Any, host: str, port: int) -> Callable[[], None]:
    """app.py's routes on host:port in a thread; returns what stops them."""
    from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer

    server_cls, handler_cls = _server_classes()
    # As chalice.local.create_local_server (`chalice local`) does: current_request becomes
    # thread-local, which the threaded server needs. It takes no server class, hence inline.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    server = LocalDevServer(app, config, host, port, handler_cls=handler_cls, server_cls=server_cls)
    thread = threading.Thread(
        target=server.server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name="api",
        daemon=True,
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server.server_close()
        thread.join(2)

    return stop


def _server_classes() -> tuple[type, type]:
    """Chalice local's server and request handler, as the deployed API behaves (chalice.local
    is imported only when the API starts)."""
    from chalice.local import ChaliceRequestHandler, ForbiddenError, ThreadedHTTPServer

    class ApiServer(ThreadedHTTPServer):
        # socketserver listens with a backlog of 5: a burst of CI jobs would be reset.
        request_queue_size = 128

    class ApiHandler(ChaliceRequestHandler):
        """As deployed: an unknown route is the template's MISSING_AUTHENTICATION_TOKEN
        gateway response (404, the contract's shape), not Chalice local's 403. A known path
        with an unknown method reaches the app, which answers 405; TRACE, CONNECT and any
        other method http.server knows no `do_` for (QUERY, PROPFIND, ...) too: http.server
        would answer 501 text/html."""

        def _send_error_response(self, error: Any) -> None:
            if isinstance(error, ForbiddenError):  # local: raised only for "no route"
                body = json.dumps(UNKNOWN_ROUTE_BODY).encode()
                self._send_http_response(404, {"Content-Type": "application/json"}, body)
                return
            super()._send_error_response(error)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return ApiServer, ApiHandler
