"""Loopback HTTP listeners standing in for Cloud Run service URLs and tag URLs.

Each listener is its own ThreadingHTTPServer in a daemon thread. Ports live in the state
(`listeners`: service name -> {tag: port}, tag "" being the service URL) so a restarted
emulator binds the same URLs again.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


def url(port, host=HOST):
    return f"http://{host}:{port}"


class Listeners:
    def __init__(self, respond):
        """`respond(service_name, tag, headers)` -> (HTTP status, JSON payload, revision or None)."""
        self._respond = respond
        self._servers = {}  # (service name, tag) -> server
        self._lock = threading.Lock()

    def ensure(self, ports, service, tags):
        """Listen for `service` on exactly `tags` ("" for the service URL); `ports` (the
        state's map for the service) is updated with the ports in use."""
        for tag in set(ports) - set(tags):
            self._close((service, tag))
            del ports[tag]
        for tag in tags:
            ports[tag] = self._open(service, tag, ports.get(tag, 0))

    def restore(self, listeners):
        """Bind again every listener of a saved state (service name -> {tag: port})."""
        for service, ports in listeners.items():
            self.ensure(ports, service, list(ports))

    def close_service(self, service):
        for key in [key for key in self._servers if key[0] == service]:
            self._close(key)

    def close_all(self):
        for key in list(self._servers):
            self._close(key)

    def _open(self, service, tag, port):
        with self._lock:
            if (service, tag) in self._servers:
                return self._servers[(service, tag)].server_port
            server = _bind(port)
            server.respond = lambda headers: self._respond(service, tag, headers)
            self._servers[(service, tag)] = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server.server_port

    def _close(self, key):
        with self._lock:
            server = self._servers.pop(key, None)
        if server is not None:
            server.shutdown()
            server.server_close()


def _bind(port):
    """A server on `port`, or on a fresh port when that one is taken."""
    try:
        return ThreadingHTTPServer((HOST, port), _RevisionHandler)
    except OSError:
        return ThreadingHTTPServer((HOST, 0), _RevisionHandler)


class _RevisionHandler(BaseHTTPRequestHandler):
    """Answers any method and path with the serving revision's description."""

    def _answer(self):
        status, payload, revision = self.server.respond(self.headers)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if revision:
            self.send_header("X-Orchestra-Revision", revision)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass
