"""moto's server as the local stack runs it: one DynamoDB request at a time (moto's backend has
no locking), the moto patches installed."""

from __future__ import annotations

from typing import Any


def _one_dynamodb_request_at_a_time(app: Any) -> Any:
    """WSGI middleware for moto: its DynamoDB backend has no locking, and TransactWriteItems
    deep-copies a table while other request threads write to it ("dictionary changed size during
    iteration", HTTP 500) -- seen with 20 concurrent reports of one scenario. DynamoDB itself
    serializes the writes to an item, so serializing moto's DynamoDB requests loses nothing the
    app may rely on."""
    from devstack.moto_dynamodb import LOCK

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return app(environ, start_response)
        with LOCK:
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return wsgi


def local_aws_server(host: str, port: int) -> Any:
    """moto's ThreadedMotoServer, its app wrapped by _one_dynamodb_request_at_a_time."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    from devstack import moto_patches

    moto_patches.install()  # moto copies the whole table per transaction item otherwise

    class AwsServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # as moto's own, plus the middleware
            app = _one_dynamodb_request_at_a_time(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.1)  # moto's default 0.5 s slows the stop

    return AwsServer(ip_address=host, port=port, verbose=False)
