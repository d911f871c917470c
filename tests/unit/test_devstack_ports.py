"""The stack's port check: it refuses a port in use, not one a stopped stack left in TIME_WAIT."""

from __future__ import annotations

import socket

import pytest

from devstack.stack import HOST, StackError, _ensure_free


def _port_in_time_wait() -> int:
    """A port whose server closed a connection first (the server side lingers in TIME_WAIT), and
    stopped listening: what `make run` finds right after the previous stack stopped."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen()
    port = int(server.getsockname()[1])
    client = socket.create_connection((HOST, port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_left_in_time_wait_by_a_stopped_stack_is_free() -> None:
    port = _port_in_time_wait()
    # the old check (no SO_REUSEADDR) trips on TIME_WAIT
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind((HOST, port))
    _ensure_free(port, "the API", "FAILBRIDGE_API_PORT")


def test_a_port_something_listens_on_is_refused_clearly() -> None:
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        with pytest.raises(StackError, match="FAILBRIDGE_API_PORT"):
            _ensure_free(port, "the API", "FAILBRIDGE_API_PORT")
