"""HTTP plumbing: a threading server on 127.0.0.1 that can drop every connection at once."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import admin
from .sigv4 import Request

if TYPE_CHECKING:
    from .double import StsDouble
    from .jsonwire import Response

ADMIN_PREFIX = "/_double/"
_LOOPBACK = ("127.0.0.1", "::1")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], double: StsDouble) -> None:
        self.double = double
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close kept-alive connections too, or pooled clients would still get answers."""
        with self._open_lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are not news
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore and the JS SDK expect
    server: Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, self.path, list(self.headers.items()),
                          self.rfile.read(length))
        path = self.path.partition("?")[0]
        if path.startswith(ADMIN_PREFIX):
            self._admin(path[len(ADMIN_PREFIX):], request)
            return
        services = self.server.double.services  # the double's other services, by path
        if services.owns(request):
            self._answer(services.handle(request))
            return
        reply = self.server.double.handle(request)
        if reply is None:
            self._reset()
        else:
            status, body, request_id = reply
            self._send(status, "text/xml", body, request_id)

    do_GET = do_POST

    def _admin(self, path: str, request: Request) -> None:
        if self.client_address[0] not in _LOOPBACK:
            status, payload = 403, {"error": "loopback only"}
        else:
            double = self.server.double
            answer = double.services.admin(path, request.params())
            status, payload = answer or admin.answer(double, path, request.params())
        self._send(status, "application/json", json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, body: bytes,
              request_id: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if request_id is not None:
            self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, response: Response | None) -> None:
        """Send a service's answer with its headers; None: drop the connection."""
        if response is None:
            self._reset()
            return
        self.send_response(response.status)
        for name, value in {"Content-Type": response.content_type, **response.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no response at all."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests and the demo own stdout and stderr
