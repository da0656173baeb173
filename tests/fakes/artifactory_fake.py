#!/usr/bin/env python3
"""A stateful wire fake of the JFrog Artifactory endpoints the `artifactory` store uses.

Standard library only; binds 127.0.0.1. Files live in memory, per generic repository.

    artifactory_fake.py PORT

Environment:
    ARTIFACTORY_FAKE_TOKEN       access token with read, deploy and delete rights (required)
    ARTIFACTORY_FAKE_READ_TOKEN  access token that may only read (optional)
    ARTIFACTORY_FAKE_REPOS       comma-separated generic repositories (default: generic-local)

Served under /artifactory (as a self-hosted or SaaS instance's base URL):
    GET  /api/system/ping                 200 "OK" (no auth, as with anonymous ping)
    GET  /api/system/version              {"version": ..., "revision": ..., "addons": [], ...}
    GET  /api/storage/<repo>/<path>       file info (uri, repo, path, size, checksums) or 404
    PUT  /<repo>/<path>                   deploy: 201 + file info; overwrite allowed
    GET  /<repo>/<path>                   content + X-Checksum-* headers, or 404
    HEAD /<repo>/<path>                   headers only, or 404
    DELETE /<repo>/<path>                 204, or 404 when nothing is there

Authentication as Artifactory accepts an access token: `Authorization: Bearer <t>`,
`Authorization: Basic <user:t>` or `X-JFrog-Art-Api: <t>`. No or a wrong token -> 401,
a read-only token writing or deleting -> 403, errors as {"errors":[{"status":N,"message":...}]}.
"""

import base64
import datetime
import hashlib
import http.server
import json
import os
import sys
import threading
import urllib.parse

PREFIX = "/artifactory"


class State:
    def __init__(self, repos):
        self.lock = threading.Lock()
        self.repos = {r: {} for r in repos}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Artifactory-fake/7"

    def log_message(self, fmt, *args):  # requests are logged without headers (no tokens)
        sys.stderr.write("%s %s\n" % (self.command, self.path.split("?")[0]))

    # -- helpers ---------------------------------------------------------------------------
    def send_json(self, status, body, head=False):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def error(self, status, message, head=False):
        self.send_json(status, {"errors": [{"status": status, "message": message}]}, head)

    def token(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer "):]
        if auth.startswith("Basic "):
            try:
                user_pw = base64.b64decode(auth[len("Basic "):]).decode()
                return user_pw.split(":", 1)[1]
            except Exception:
                return None
        return self.headers.get("X-JFrog-Art-Api")

    def rights(self):
        """None when unauthenticated, else 'write' or 'read'."""
        t = self.token()
        if t and t == os.environ.get("ARTIFACTORY_FAKE_TOKEN"):
            return "write"
        read = os.environ.get("ARTIFACTORY_FAKE_READ_TOKEN")
        if t and read and t == read:
            return "read"
        return None

    def split(self):
        """(kind, repo, path) for a request path under /artifactory."""
        raw = urllib.parse.urlsplit(self.path).path
        if not raw.startswith(PREFIX + "/"):
            return None, None, None
        rest = urllib.parse.unquote(raw[len(PREFIX) + 1:])
        kind = "file"
        if rest.startswith("api/"):
            if rest in ("api/system/ping", "api/system/version"):
                return rest, None, None
            if rest.startswith("api/storage/"):
                kind, rest = "storage", rest[len("api/storage/"):]
            else:
                return "unknown-api", None, None
        repo, _, path = rest.partition("/")
        return kind, repo, path.strip("/")

    def info(self, repo, path, entry):
        base = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), PREFIX)
        return {
            "repo": repo,
            "path": "/" + path,
            "created": entry["created"],
            "createdBy": "token",
            "downloadUri": "%s/%s/%s" % (base, repo, path),
            "mimeType": entry["type"],
            "size": str(len(entry["data"])),
            "checksums": entry["sums"],
            "originalChecksums": entry["sums"],
            "uri": "%s/api/storage/%s/%s" % (base, repo, path),
        }

    def authorize(self, need, head=False):
        have = self.rights()
        if have is None:
            self.error(401, "Bad credentials", head)
            return False
        if need == "write" and have != "write":
            self.error(403, "Not enough permissions to deploy or delete artifacts", head)
            return False
        return True

    def lookup(self, head=False):
        kind, repo, path = self.split()
        if kind is None or kind == "unknown-api":
            self.error(404, "Not Found", head)
            return None
        files = self.server.state.repos.get(repo)
        if files is None:
            self.error(404, "Repository '%s' doesn't exist" % repo, head)
            return None
        if not path:
            self.error(400, "A file path is required", head)
            return None
        return kind, repo, path, files

    # -- verbs -----------------------------------------------------------------------------
    def do_GET(self, head=False):
        kind, _, _ = self.split()
        if kind == "api/system/ping":
            data = b"OK"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)
            return
        if not self.authorize("read", head):
            return
        if kind == "api/system/version":
            self.send_json(200, {"version": "7.104.7", "revision": "fake", "addons": [],
                                 "license": "fake"}, head)
            return
        found = self.lookup(head)
        if found is None:
            return
        kind, repo, path, files = found
        with self.server.state.lock:
            entry = files.get(path)
        if entry is None:
            self.error(404, "File not found.", head)
            return
        if kind == "storage":
            self.send_json(200, self.info(repo, path, entry), head)
            return
        self.send_response(200)
        self.send_header("Content-Type", entry["type"])
        self.send_header("Content-Length", str(len(entry["data"])))
        self.send_header("X-Checksum-Md5", entry["sums"]["md5"])
        self.send_header("X-Checksum-Sha1", entry["sums"]["sha1"])
        self.send_header("X-Checksum-Sha256", entry["sums"]["sha256"])
        self.send_header("X-Artifactory-Filename", path.rsplit("/", 1)[-1])
        self.end_headers()
        if not head:
            self.wfile.write(entry["data"])

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length) if length else b""
        if not self.authorize("write"):
            return
        found = self.lookup()
        if found is None:
            return
        kind, repo, path, files = found
        if kind != "file":
            self.error(405, "Method Not Allowed")
            return
        entry = {
            "data": data,
            "type": self.headers.get("Content-Type", "application/octet-stream"),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "sums": {
                "md5": hashlib.md5(data).hexdigest(),
                "sha1": hashlib.sha1(data).hexdigest(),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        }
        with self.server.state.lock:
            files[path] = entry
        self.send_json(201, self.info(repo, path, entry))

    def do_DELETE(self):
        if not self.authorize("write"):
            return
        found = self.lookup()
        if found is None:
            return
        kind, _, path, files = found
        if kind != "file":
            self.error(405, "Method Not Allowed")
            return
        with self.server.state.lock:
            # Deleting a folder removes everything under it, as Artifactory does.
            gone = [p for p in files if p == path or p.startswith(path + "/")]
            for p in gone:
                del files[p]
        if not gone:
            self.error(404, "Could not locate artifact '%s'." % path)
            return
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: artifactory_fake.py PORT")
    if not os.environ.get("ARTIFACTORY_FAKE_TOKEN"):
        sys.exit("ARTIFACTORY_FAKE_TOKEN must be set")
    repos = [r for r in os.environ.get("ARTIFACTORY_FAKE_REPOS", "generic-local").split(",") if r]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.state = State(repos)
    server.serve_forever()


if __name__ == "__main__":
    main()
