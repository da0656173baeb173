"""A stateful wire fake of the GitHub REST API's Actions secrets (the surface PyGithub and the
`github/actions` store use), for one repository and its environments.

Covers: GET /repos/{o}/{r} (minimal repo), the public key of the repository and of an environment
(`/actions/secrets/public-key`, `/environments/{e}/secrets/public-key`), PUT / GET / DELETE of a
secret (`encrypted_value` + `key_id`; a wrong key id is 422), and list (`?per_page&page`).
Auth: with --token only `Authorization: Bearer|token <T>` passes (401 otherwise). The X25519
key pair is given on the command line (--public-key, base64), so the test holds the private key
and decrypts what was sent (`GET /_fake/state` returns the sealed values as sent).

usage: github_actions.py --port N --owner O --repo R --public-key B64 [--key-id ID] [--token T]
                         [--environment E ...] [--delay-ms MS]
"""
import re
import time

import fakecommon


def err(code, message):
    return code, {"message": message, "documentation_url": "https://docs.github.com/rest"}, {}


class Gh(fakecommon.Handler):
    # state: {scope: {name: {"encrypted_value", "key_id", "created_at", "updated_at"}}}, scope is
    # "repo" or "env:<name>"
    state = {}

    def dump_state(self):
        return self.state

    def token(self):
        a = self.headers.get("Authorization", "")
        for p in ("Bearer ", "token "):
            if a.startswith(p):
                return a[len(p):]
        return None

    def route(self, m, path, query, body):
        o = self.opts
        if o.token and self.token() != o.token:
            return err(401, "Bad credentials")
        base = f"/repos/{o.owner}/{o.repo}"
        if path == base and m == "GET":
            return 200, {"id": 1, "name": o.repo, "full_name": f"{o.owner}/{o.repo}",
                         "owner": {"login": o.owner, "id": 2},
                         "url": f"http://{self.headers.get('Host')}{base}"}, {}
        if not path.startswith(base + "/"):
            return err(404, "Not Found")
        rest = path[len(base):]
        r = re.fullmatch(r"(?:/environments/([^/]+))?/(?:actions/)?secrets(?:/([^/]+))?", rest)
        if not r:
            return err(404, "Not Found")
        env, name = r.group(1), r.group(2)
        if env is not None and (env not in o.environment or "/actions/" in rest):
            return err(404, "Not Found")
        if env is None and "/actions/" not in rest:
            return err(404, "Not Found")
        scope = self.state.setdefault("env:" + env if env else "repo", {})
        if name == "public-key" and m == "GET":
            return 200, {"key_id": o.key_id, "key": o.public_key}, {}
        if name is None and m == "GET":
            per_page = int(query.get("per_page", "30"))
            page = int(query.get("page", "1"))
            names = sorted(scope)
            chunk = names[(page - 1) * per_page: page * per_page]
            return 200, {"total_count": len(names),
                         "secrets": [{"name": n, "created_at": scope[n]["created_at"],
                                      "updated_at": scope[n]["updated_at"]} for n in chunk]}, {}
        if name is None:
            return err(404, "Not Found")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.upper().startswith("GITHUB_"):
            return err(422, f"Invalid secret name {name}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if m == "PUT":
            body = body or {}
            if body.get("key_id") != o.key_id or not isinstance(body.get("encrypted_value"), str):
                return err(422, "Invalid request: key_id does not match the public key")
            created = name not in scope
            old = scope.get(name, {})
            scope[name] = {"encrypted_value": body["encrypted_value"], "key_id": body["key_id"],
                           "created_at": old.get("created_at", now), "updated_at": now}
            return (201 if created else 204), ({} if created else None), {}
        if m == "GET":
            if name not in scope:
                return err(404, "Not Found")
            s = scope[name]
            return 200, {"name": name, "created_at": s["created_at"], "updated_at": s["updated_at"]}, {}
        if m == "DELETE":
            if name not in scope:
                return err(404, "Not Found")
            del scope[name]
            return 204, None, {}
        return err(404, "Not Found")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--owner", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--key-id", default="568250167242549743")
    p.add_argument("--environment", action="append", default=[])
    opts = p.parse_args()
    fakecommon.serve(Gh, opts)
