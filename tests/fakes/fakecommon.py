"""Shared plumbing of the wire fakes: a threaded loopback HTTP(S) server, JSON helpers, an
optional per-request delay (to test concurrency; `--delay-ms`, or `POST /_fake/delay?ms=N` at run
time), `GET /_fake/state` so tests can read the stored names directly, and
`POST /_fake/requests/take`, which returns (and clears) when each API request was in flight, on
the system-wide monotonic clock, so a test can see requests to different fakes overlap, and
`POST /_fake/fail?status=S&count=N`, which answers the next N API requests (-1: all) with
status S and a JSON error, as an overloaded service does (for TLS fakes the loopback fault
proxy cannot stand in front of). Standard library only; binds 127.0.0.1 and nothing else."""
import argparse
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--port", type=int, required=True, help="loopback port to listen on")
    p.add_argument("--token", help="the only bearer token accepted (default: any or none)")
    p.add_argument("--deny-token", help="a valid token that lacks permission (answers 403)")
    p.add_argument("--delay-ms", type=int, default=0, help="delay every API request by this much")
    return p


class Handler(BaseHTTPRequestHandler):
    """Parses the request, applies the delay and dispatches to `route(method, path, query, body)`,
    which subclasses implement and which returns (status, json-or-bytes-or-None, extra headers)."""

    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    state = {}
    opts = None
    # (start, end) of each API request, time.monotonic() seconds (CLOCK_MONOTONIC: system-wide).
    windows = []
    # [status, remaining count] of injected failures (`/_fake/fail`); count -1 = every request.
    failing = [0, 0]

    def log_message(self, *a):
        pass

    def reply(self, code, obj=None, headers=None, ctype="application/json; charset=utf-8"):
        if obj is None:
            body = b""
        elif isinstance(obj, bytes):
            body = obj
        else:
            body = json.dumps(obj).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or code not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def bearer(self):
        a = self.headers.get("Authorization", "")
        return a[7:] if a.startswith("Bearer ") else None

    def dispatch(self):
        u = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if u.path == "/_fake/state":
            with self.lock:
                return self.reply(200, self.dump_state())
        if u.path == "/_fake/delay" and self.command == "POST":
            self.opts.delay_ms = int(query.get("ms", "0"))
            return self.reply(200, {"delay_ms": self.opts.delay_ms})
        if u.path == "/_fake/fail" and self.command == "POST":
            with self.lock:
                Handler.failing[:] = [int(query.get("status", "503")), int(query.get("count", "1"))]
            return self.reply(200, {"status": Handler.failing[0], "count": Handler.failing[1]})
        if u.path == "/_fake/requests/take" and self.command == "POST":
            with self.lock:
                taken, Handler.windows[:] = list(Handler.windows), []
            return self.reply(200, {"requests": taken})
        started = time.monotonic()
        try:
            self.api(u, query, raw)
        finally:
            with self.lock:
                Handler.windows.append([started, time.monotonic()])

    def api(self, u, query, raw):
        if self.opts.delay_ms:
            time.sleep(self.opts.delay_ms / 1000.0)
        with self.lock:
            status, left = Handler.failing
            if left:
                Handler.failing[1] = left - 1 if left > 0 else left
        if left:
            reason = {429: "Throttled", 503: "ServiceUnavailable"}.get(status, "InjectedFailure")
            return self.reply(status, {"error": {"code": reason, "status": reason.upper(),
                                                 "message": "injected by the test (/_fake/fail)"}})
        ctype = self.headers.get("Content-Type", "")
        try:
            if ctype.startswith("application/x-www-form-urlencoded"):
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            else:
                body = json.loads(raw) if raw else None
        except ValueError:
            return self.bad_json()
        with self.lock:
            code, obj, headers = self.route(self.command, u.path, query, body)
        ctype = "text/plain" if isinstance(obj, bytes) else "application/json; charset=utf-8"
        self.reply(code, obj, headers, ctype)

    def dump_state(self):
        return self.state

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = dispatch


def serve(handler_cls, opts, certfile=None, keyfile=None):
    handler_cls.opts = opts
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), handler_cls)
    server.daemon_threads = True
    if certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        # Handshake in the worker thread (first read), not in the accept loop.
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.serve_forever()
