"""The HTTP front of the emulator: one ThreadingHTTPServer on one port for every API."""

import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from orchestra_emulator.app import Emulator
from orchestra_emulator.registry import Media


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the official clients expect

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        emulator = self.server.emulator
        status, payload = emulator.handle(self.command, self.path, body, self.headers)
        if not isinstance(payload, Media):
            payload = Media(status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(payload).encode())
        self.send_response(status)
        for name, value in {"Content-Type": "application/octet-stream", **payload.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(payload.size()))
        self.end_headers()
        payload.write(self.wfile)
        if emulator.admin.shutdown_requested:
            threading.Thread(target=self.server.shutdown, daemon=True).start()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def bind(host, port, state_dir):
    """An HTTP server (not serving yet) for a new Emulator on `state_dir`, kept as its `emulator`."""
    os.makedirs(state_dir, exist_ok=True)
    httpd = ThreadingHTTPServer((host, port), _ApiHandler)
    httpd.emulator = Emulator(state_dir)
    return httpd


def serve(host, port, state_dir):
    """Serve until SIGTERM/SIGINT or POST /_emulator/shutdown; a pidfile marks the process."""
    httpd = bind(host, port, state_dir)
    emulator = httpd.emulator
    pidfile = os.path.join(state_dir, "emulator.pid")
    with open(pidfile, "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown, daemon=True).start())
    print(json.dumps({"serving": f"http://{host}:{httpd.server_port}", "pid": os.getpid()}), flush=True)
    try:
        httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        emulator.close()
        os.remove(pidfile)
