"""A stateful wire fake of the GCP Secret Manager v1 REST API (the JSON/HTTP surface that both
google-cloud-secretmanager-v1 for Rust and Google's Python client with transport="rest" use).

Covers: secrets create/get/list/delete, :addVersion (checks payload.dataCrc32c like the service:
mismatch -> 400 INVALID_ARGUMENT), versions get/list/:access (latest = newest created; a disabled
latest -> 400 FAILED_PRECONDITION), :disable/:enable/:destroy. Errors use Google's JSON error shape
and gRPC status names. Auth: with --token only that bearer is accepted (401 UNAUTHENTICATED), and
--deny-token answers 403 PERMISSION_DENIED. `POST /token` is Google's OAuth 2.0 token endpoint for the
refresh-token grant (authorized_user credentials): --refresh-token R is exchanged for --token.

usage: gcp_secret_manager.py --port N [--token T] [--deny-token D] [--refresh-token R] [--corrupt-crc]
                             [--delay-ms MS]
"""
import base64
import re
import time

import fakecommon

PROJECT_NUMBER = "123456789012"  # the service answers with project numbers in names
SECRET_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
STATES = {"ENABLED": 1, "DISABLED": 2, "DESTROYED": 3}


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def err(code, status, message):
    return code, {"error": {"code": code, "message": message, "status": status}}, {}


class Gsm(fakecommon.Handler):
    # state: "projects/<p>/secrets/<id>" -> {"secret": {...}, "versions": [...]}
    state = {}

    def dump_state(self):
        return {
            name: {
                "replication": s["secret"]["replication"],
                "versions": [
                    {"n": v["n"], "state": v["state"], "data": v["data"]} for v in s["versions"]
                ],
            }
            for name, s in self.state.items()
        }

    def bad_json(self):
        code, obj, _ = err(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        self.reply(code, obj)

    def enum(self, query, name):
        return STATES[name] if "enum-encoding=int" in query.get("$alt", "") else name

    def secret_json(self, key, s):
        _, project, _, sid = key.split("/")
        out = dict(s["secret"])
        out["name"] = f"projects/{PROJECT_NUMBER}/secrets/{sid}"
        return out

    def version_json(self, key, v, query):
        sid = key.split("/")[3]
        return {
            "name": f"projects/{PROJECT_NUMBER}/secrets/{sid}/versions/{v['n']}",
            "createTime": v["createTime"],
            "state": self.enum(query, v["state"]),
            "etag": f'"{v["n"]}"',
            "clientSpecifiedPayloadChecksum": v["crcGiven"],
        }

    def oauth_token(self, body):
        # Google's OAuth 2.0 token endpoint, refresh-token grant only (authorized_user ADC).
        if body.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}, {}
        if not self.opts.refresh_token or body.get("refresh_token") != self.opts.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}, {}
        if not body.get("client_id") or not body.get("client_secret"):
            return 401, {"error": "invalid_client"}, {}
        return 200, {"access_token": self.opts.token or "anything", "expires_in": 3599, "token_type": "Bearer",
                     "scope": "https://www.googleapis.com/auth/cloud-platform"}, {}

    def pick_version(self, s, which):
        if which == "latest":
            return s["versions"][-1] if s["versions"] else None
        for v in s["versions"]:
            if str(v["n"]) == which:
                return v
        return None

    def route(self, m, path, query, body):
        if path == "/token" and m == "POST":
            return self.oauth_token(body or {})
        token = self.bearer()
        if self.opts.deny_token and token == self.opts.deny_token:
            return err(403, "PERMISSION_DENIED", "Permission 'secretmanager.secrets.access' denied.")
        if self.opts.token and token != self.opts.token:
            return err(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        body = body or {}
        r = re.fullmatch(r"/v1/projects/([^/]+)/secrets", path)
        if r:
            project = r.group(1)
            if m == "POST":
                sid = query.get("secretId", "")
                if not SECRET_ID.fullmatch(sid):
                    return err(400, "INVALID_ARGUMENT", f"Invalid secret id {sid!r}.")
                key = f"projects/{project}/secrets/{sid}"
                if key in self.state:
                    return err(409, "ALREADY_EXISTS", f"Secret [{key}] already exists.")
                rep = body.get("replication")
                if not rep or not (("automatic" in rep) ^ ("userManaged" in rep)):
                    return err(400, "INVALID_ARGUMENT", "Secret.replication must be set.")
                if "userManaged" in rep and not rep["userManaged"].get("replicas"):
                    return err(400, "INVALID_ARGUMENT", "userManaged.replicas must not be empty.")
                secret = {"replication": rep, "createTime": now(), "etag": '"1"'}
                if body.get("labels"):
                    secret["labels"] = body["labels"]
                self.state[key] = {"secret": secret, "versions": []}
                return 200, self.secret_json(key, self.state[key]), {}
            if m == "GET":
                names = sorted(k for k in self.state if k.startswith(f"projects/{project}/"))
                size = int(query.get("pageSize") or 25)
                start = int(query.get("pageToken") or 0)
                page = names[start : start + size]
                out = {"secrets": [self.secret_json(k, self.state[k]) for k in page], "totalSize": len(names)}
                if start + size < len(names):
                    out["nextPageToken"] = str(start + size)
                return 200, out, {}
        r = re.fullmatch(r"/v1/projects/([^/]+)/secrets/([^/:]+)(:addVersion)?", path)
        if r:
            key = f"projects/{r.group(1)}/secrets/{r.group(2)}"
            s = self.state.get(key)
            if s is None:
                return err(404, "NOT_FOUND", f"Secret [{key}] not found or has no versions.")
            if m == "GET" and not r.group(3):
                return 200, self.secret_json(key, s), {}
            if m == "DELETE" and not r.group(3):
                del self.state[key]
                return 200, {}, {}
            if m == "POST" and r.group(3):
                payload = body.get("payload") or {}
                try:
                    data = base64.b64decode(payload.get("data", ""), validate=True)
                except ValueError:
                    return err(400, "INVALID_ARGUMENT", "payload.data is not valid base64.")
                given = payload.get("dataCrc32c")
                if given is not None and int(given) != crc32c(data):
                    return err(400, "INVALID_ARGUMENT", "Checksum mismatch: payload.dataCrc32c does not match the data.")
                v = {
                    "n": len(s["versions"]) + 1,
                    "data": base64.b64encode(data).decode(),
                    "state": "ENABLED",
                    "createTime": now(),
                    "crcGiven": given is not None,
                }
                s["versions"].append(v)
                return 200, self.version_json(key, v, query), {}
        r = re.fullmatch(r"/v1/projects/([^/]+)/secrets/([^/]+)/versions(?:/([^/:]+)(:access|:disable|:enable|:destroy)?)?", path)
        if r:
            key = f"projects/{r.group(1)}/secrets/{r.group(2)}"
            s = self.state.get(key)
            if s is None:
                return err(404, "NOT_FOUND", f"Secret [{key}] not found or has no versions.")
            which, action = r.group(3), r.group(4)
            if which is None and m == "GET":
                vs = [self.version_json(key, v, query) for v in reversed(s["versions"])]
                return 200, {"versions": vs, "totalSize": len(vs)}, {}
            v = self.pick_version(s, which or "")
            if v is None:
                return err(404, "NOT_FOUND", f"Secret Version [{key}/versions/{which}] not found.")
            if action == ":access" and m == "GET":
                if v["state"] != "ENABLED":
                    return err(400, "FAILED_PRECONDITION", f"Secret Version [{key}/versions/{v['n']}] is in {v['state']} state.")
                data = base64.b64decode(v["data"])
                crc = crc32c(data) ^ (1 if self.opts.corrupt_crc else 0)
                return 200, {
                    "name": f"projects/{PROJECT_NUMBER}/secrets/{r.group(2)}/versions/{v['n']}",
                    "payload": {"data": v["data"], "dataCrc32c": str(crc)},
                }, {}
            if action in (":disable", ":enable", ":destroy") and m == "POST":
                if v["state"] == "DESTROYED":
                    return err(400, "FAILED_PRECONDITION", "The version is destroyed.")
                v["state"] = {":disable": "DISABLED", ":enable": "ENABLED", ":destroy": "DESTROYED"}[action]
                if action == ":destroy":
                    v["data"] = ""
                return 200, self.version_json(key, v, query), {}
            if action is None and m == "GET":
                return 200, self.version_json(key, v, query), {}
        return err(404, "NOT_FOUND", f"no route for {m} {path}")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--refresh-token", help="POST /token exchanges this refresh token for --token")
    p.add_argument("--corrupt-crc", action="store_true", help="answer :access with a wrong dataCrc32c")
    fakecommon.serve(Gsm, p.parse_args())
