"""A local HTTP server for the catalogue tests (127.0.0.1, OS-chosen port, in a thread).

Serves tests/data/catalogue/ with ``{{BASE}}`` replaced by its own base URL, strong ETags and
Last-Modified with conditional GET (304); ``*.gz`` paths are the gzip of the file without ``.gz``.
Extra routes: ``/redirect?to=URL`` (302), ``/huge`` (a body larger than any test limit, chunked),
``/bomb`` (a gzip Content-Encoding bomb), ``/slow`` (stalls). ``overrides[path] = bytes`` changes a
document; ``requests`` records (path, headers) of every request.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).parent / "data" / "catalogue"
TYPES = {".xml": "application/xml", ".html": "text/html; charset=utf-8", ".gz": "application/gzip"}
STARTED = formatdate(time.time() - 3600, usegmt=True)


class CatalogueServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.overrides: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                server.requests.append((parts.path, dict(self.headers.items())))
                route = getattr(server, "route_" + parts.path.strip("/").replace(".", "_"), None)
                if route is not None:
                    return route(self, parse_qs(parts.query))
                body = server.document(parts.path)
                if body is None:
                    return self._send(404, b"not found", "text/plain")
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                ctype = TYPES.get(Path(parts.path).suffix, "application/octet-stream")
                return self._send(200, body, ctype, {"ETag": etag, "Last-Modified": STARTED})

            def _send(self, status, body, ctype, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # clients hanging up early (size limits, timeouts) are expected here

        self.httpd = Server((host, 0), Handler)
        self.port = self.httpd.server_port
        self.base = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def document(self, path: str) -> bytes | None:
        if path in self.overrides:
            return self.overrides[path]
        if path.endswith(".gz"):
            inner = self.document(path[:-3])
            return gzip.compress(inner) if inner is not None else None
        file = DATA / path.lstrip("/")
        if not file.is_file() or DATA not in file.resolve().parents:
            return None
        return file.read_bytes().replace(b"{{BASE}}", self.base.encode())

    def template(self, name: str) -> bytes:
        return (DATA / name).read_bytes().replace(b"{{BASE}}", self.base.encode())

    def hits(self, path: str) -> list[dict]:
        return [headers for p, headers in self.requests if p == path]

    # -- special routes ------------------------------------------------------------------------
    def route_redirect(self, handler, query):
        handler.send_response(302)
        handler.send_header("Location", query.get("to", ["/"])[0])
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def route_huge(self, handler, query):
        """2 MiB of XML-ish bytes, chunked (no Content-Length)."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<x>" + b"a" * 65536 + b"</x>"
        try:
            handler.wfile.write(b"%x\r\n<rss>\r\n" % 5)
            for _ in range(32):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the fetcher hung up, as it should

    def route_huge_declared(self, handler, query):
        """A Content-Length over the limit: refused before reading."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", str(50 * 1024 * 1024))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(b"<rss>" + b" " * 1024)

    def route_bomb(self, handler, query):
        """About 20 KiB of gzip that inflates to 20 MiB (Content-Encoding: gzip)."""
        body = gzip.compress(b"<rss>" + b" " * (20 * 1024 * 1024))
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)

    def route_bomb_gz(self, handler, query):
        """A .gz file (no Content-Encoding) that inflates to 20 MiB."""
        body = gzip.compress(b"<?xml version='1.0'?><urlset>" + b" " * (20 * 1024 * 1024))
        handler.send_response(200)
        handler.send_header("Content-Type", "application/gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)

    def route_slow(self, handler, query):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        try:
            handler.wfile.write(b"<rss>")
            handler.wfile.flush()
            time.sleep(3)
        except OSError:
            pass

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
