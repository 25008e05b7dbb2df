"""A local imitation of the Explore Education Statistics endpoints, with faults on demand.

Bound to 127.0.0.1 on a free port and started by the test (fixture ``ees`` in
test_fetch_faults.py). Routes, as the real service has them:

- ``/v1/data-sets/{id}/csv`` (``?dataSetVersion=`` accepted): the public API's CSV
  download;
- ``/api/releases/{release}/files/{file}``: a release file, answered with a redirect (302)
  to ``/blob/{file}.csv`` where the bytes are, as the content API does;
- ``/loop`` (redirects to itself) and ``/to-bad`` (redirects to a refused URL).

Bodies carry ``Content-Length``, an ``ETag`` and ``Accept-Ranges: bytes``; a ``Range``
request is answered 206 when its ``If-Range`` matches the current ETag, else 200 with
the whole (possibly changed) file. Faults are queued per path and used one per request:
``429`` (with ``Retry-After: 2``), ``500``, ``503``, ``timeout`` (no answer for 1.5 s),
``cut`` (half the body, then the connection closes), ``cut-then-change`` (the same, and
the file changes before the next request), ``norange`` (the next Range request is
ignored: 200 and the whole file), ``404``.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import time


class State:
    """The files served (path or ``ds:{id}`` -> bytes), queued faults and the requests seen."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def etag(self, key: str) -> str:
        return '"' + hashlib.sha256(self.files[key]).hexdigest()[:16] + '"'

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p.split("?")[0] == path]


class Handler(http.server.BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        st = self.state
        path = self.path.split("?")[0]
        with st.lock:
            st.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            queue = st.faults.get(path, [])
            fault = queue.pop(0) if queue else None
        if fault in ("429", "500", "503", "404"):
            self._send(int(fault), {"Retry-After": "2"} if fault == "429" else {})
            return
        if fault == "timeout":
            time.sleep(1.5)
            self.close_connection = True
            return
        if path == "/loop":
            self._send(302, {"Location": "/loop"})
            return
        if path == "/to-bad":
            self._send(302, {"Location": "/blob/a;rm -rf.csv"})
            return
        m = re.fullmatch(r"/api/releases/([^/]+)/files/([^/]+)", path)
        if m:
            self._send(302, {"Location": f"/blob/{m.group(2)}.csv"})
            return
        m = re.fullmatch(r"/v1/data-sets/([^/]+)/csv", path)
        key = f"ds:{m.group(1)}" if m else path
        if key not in st.files:
            self._send(404)
            return
        body, etag = st.files[key], st.etag(key)
        start = 0
        rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if rng and fault != "norange" and self.headers.get("If-Range") in (None, etag):
            start = int(rng.group(1))
        if start >= len(body) and start:
            self._send(416, {"Content-Range": f"bytes */{len(body)}"})
            return
        part = body[start:]
        self.send_response(206 if start else 200)
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "text/csv")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if fault in ("cut", "cut-then-change"):
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True
            if fault == "cut-then-change":
                st.files[key] = body.replace(b"National", b"Changed!")
            return
        self.wfile.write(part)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that timed out
        pass


def start() -> tuple[Server, State, str]:
    """Start a server on 127.0.0.1 (free port); returns it, its state and its base URL."""
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return httpd, state, f"http://127.0.0.1:{httpd.server_address[1]}"
