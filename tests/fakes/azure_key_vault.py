"""A stateful HTTPS wire fake of the Azure Key Vault secrets data plane (the surface that
azure_security_keyvault_secrets for Rust and azure-keyvault-secrets for Python use).

Covers: set (PUT), get latest (`/secrets/{n}/`) and by version, update properties (PATCH), list
secrets and versions, soft delete (DELETE -> deleted secret), get/list deleted, purge, recover.
Name rule `^[0-9a-zA-Z-]{1,127}$` (400 BadParameter). PUT on a deleted-but-recoverable name ->
409 Conflict/ObjectIsDeletedButRecoverable. Challenge auth: a request without a bearer gets 401
with `WWW-Authenticate: Bearer authorization=".../<tenant>", resource="https://vault.azure.net"`;
with --token only that bearer passes (else 401), --deny-token answers 403 Forbidden.

Without --cert/--key it serves plain HTTP (an emulator, as upstream's `azure-secrets-floci`
fixture expects); --base-path serves the vault under a path prefix (`/devstoreaccount1-keyvault`).

usage: azure_key_vault.py --port N [--cert leaf.pem --key leaf.key] [--base-path P] [--tenant T]
                          [--token T] [--deny-token D] [--delay-ms MS]
"""
import re
import secrets as pysecrets
import time

import fakecommon

NAME = re.compile(r"[0-9A-Za-z-]{1,127}")


def err(code, ecode, message, inner=None):
    e = {"code": ecode, "message": message}
    if inner:
        e["innererror"] = {"code": inner}
    return code, {"error": e}, {}


class Akv(fakecommon.Handler):
    # state: {"live": {name: [versions...]}, "deleted": {name: {...}}}
    state = {"live": {}, "deleted": {}, "challenges": 0}

    def dump_state(self):
        return {
            "live": {n: [v["value"] for v in vs] for n, vs in self.state["live"].items()},
            "deleted": sorted(self.state["deleted"]),
            "challenges": self.state["challenges"],
        }

    def bad_json(self):
        code, obj, _ = err(400, "BadParameter", "The request body is not valid JSON.")
        self.reply(code, obj)

    def base(self):
        scheme = "https" if self.opts.cert else "http"
        return f"{scheme}://{self.headers.get('Host', '127.0.0.1')}{self.opts.base_path}"

    def props(self, name, v, with_value):
        out = {
            "id": f"{self.base()}/secrets/{name}/{v['version']}",
            "attributes": dict(v["attributes"]),
        }
        if v.get("contentType"):
            out["contentType"] = v["contentType"]
        if v.get("tags"):
            out["tags"] = v["tags"]
        if with_value:
            out["value"] = v["value"]
        return out

    def deleted_json(self, name, d):
        out = self.props(name, d["latest"], False)
        out.update({
            "recoveryId": f"{self.base()}/deletedsecrets/{name}",
            "deletedDate": d["deletedDate"],
            "scheduledPurgeDate": d["deletedDate"] + 7 * 86400,
        })
        return out

    def route(self, m, path, query, body):
        if self.opts.base_path:
            if not path.startswith(self.opts.base_path + "/"):
                return err(404, "NotFound", f"no route for {m} {path}")
            path = path[len(self.opts.base_path):]
        if "api-version" not in query:
            return err(400, "BadParameter", "The 'api-version' query parameter is missing.")
        token = self.bearer()
        if token is None or (self.opts.token and token not in (self.opts.token, self.opts.deny_token)):
            self.state["challenges"] += 1
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{self.opts.tenant}", '
                'resource="https://vault.azure.net"'
            )
            code, obj, _ = err(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token." if token is None else "AKV10032: Invalid issuer or token.")
            return code, obj, {"WWW-Authenticate": challenge}
        if self.opts.deny_token and token == self.opts.deny_token:
            return err(403, "Forbidden", "The user, group or application does not have secrets get permission.", "ForbiddenByPolicy")
        live, deleted = self.state["live"], self.state["deleted"]
        body = body or {}
        now = int(time.time())
        if path.rstrip("/") == "/secrets" and m == "GET":
            items = [self.props(n, vs[-1], False) for n, vs in sorted(live.items())]
            return 200, {"value": items, "nextLink": None}, {}
        if path.rstrip("/") == "/deletedsecrets" and m == "GET":
            return 200, {"value": [self.deleted_json(n, d) for n, d in sorted(deleted.items())], "nextLink": None}, {}
        r = re.fullmatch(r"/deletedsecrets/([^/]+)(/recover)?", path)
        if r:
            name = r.group(1)
            d = deleted.get(name)
            if d is None:
                return err(404, "SecretNotFound", f"Deleted Secret not found: {name}")
            if m == "GET" and not r.group(2):
                return 200, self.deleted_json(name, d), {}
            if m == "DELETE" and not r.group(2):
                del deleted[name]
                return 204, None, {}
            if m == "POST" and r.group(2):
                live[name] = d["versions"]
                del deleted[name]
                return 200, self.props(name, live[name][-1], False), {}
        r = re.fullmatch(r"/secrets/([^/]+)(?:/([^/]*))?", path)
        if r:
            name, version = r.group(1), r.group(2)
            if not NAME.fullmatch(name):
                return err(400, "BadParameter", f"The request URI contains an invalid name: {name}")
            if m == "PUT" and version is None:
                if name in deleted:
                    return err(409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", "ObjectIsDeletedButRecoverable")
                if not isinstance(body.get("value"), str):
                    return err(400, "BadParameter", "Property 'value' is required.")
                attrs = {"enabled": True, "created": now, "updated": now, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 7}
                attrs.update(body.get("attributes") or {})
                v = {"version": pysecrets.token_hex(16), "value": body["value"], "attributes": attrs,
                     "contentType": body.get("contentType"), "tags": body.get("tags")}
                live.setdefault(name, []).append(v)
                return 200, self.props(name, v, True), {}
            if m == "DELETE" and version is None:
                vs = live.pop(name, None)
                if vs is None:
                    return err(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")
                deleted[name] = {"versions": vs, "latest": vs[-1], "deletedDate": now}
                return 200, self.deleted_json(name, deleted[name]), {}
            if version == "versions" and m == "GET":
                vs = live.get(name)
                if vs is None:
                    return err(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")
                return 200, {"value": [self.props(name, v, False) for v in vs], "nextLink": None}, {}
            vs = live.get(name)
            if vs is None:
                return err(404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault.")
            v = vs[-1] if not version else next((x for x in vs if x["version"] == version), None)
            if v is None:
                return err(404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found in this key vault.")
            if m == "GET":
                if not v["attributes"].get("enabled", True):
                    return err(403, "Forbidden", f"Operation get is not allowed on a disabled secret.", "SecretDisabled")
                return 200, self.props(name, v, True), {}
            if m == "PATCH":
                v["attributes"].update(body.get("attributes") or {})
                v["attributes"]["updated"] = now
                if "contentType" in body:
                    v["contentType"] = body["contentType"]
                if "tags" in body:
                    v["tags"] = body["tags"]
                return 200, self.props(name, v, False), {}
        return err(404, "NotFound", f"no route for {m} {path}")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--base-path", default="")
    p.add_argument("--tenant", default="00000000-0000-0000-0000-000000000000")
    opts = p.parse_args()
    fakecommon.serve(Akv, opts, opts.cert, opts.key)
