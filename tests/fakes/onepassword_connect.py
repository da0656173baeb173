"""A stateful wire fake of the 1Password Connect server REST API (v1), the surface used by the
official Python Connect SDK (onepasswordconnectsdk) and by atmos.

Covers: GET /heartbeat, /health; vaults list/get with SCIM `name eq "..."` filters; items list
(summaries without field values, `title eq "..."` filter), get, create (POST), replace (PUT),
RFC 6902 PATCH (add/remove/replace on /title, /fields, /fields/{id}/value), delete; files list.
Ids are 26 chars of [a-z0-9]. Auth: bearer --token required (401 "Invalid token signature");
--deny-token answers 403 "vault ... is not in scope".

usage: onepassword_connect.py --port N --token T [--deny-token D] [--vault NAME ...] [--delay-ms MS]
"""
import copy
import re
import secrets as pysecrets
import time

import fakecommon

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
FILTER = re.compile(r'^\s*(name|title)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$')


def new_id():
    return "".join(pysecrets.choice(ALPHABET) for _ in range(26))


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def err(code, message):
    return code, {"status": code, "message": message}, {}


class Connect(fakecommon.Handler):
    # state: {"vaults": {id: {"id","name",...}}, "items": {vault_id: {item_id: item}}}
    state = {"vaults": {}, "items": {}}

    def dump_state(self):
        out = {}
        for vid, items in self.state["items"].items():
            vname = self.state["vaults"][vid]["name"]
            for it in items.values():
                out.setdefault(vname, {})[it["title"]] = {
                    "category": it["category"],
                    "sections": {s["id"]: s.get("label", "") for s in it.get("sections", [])},
                    "fields": [
                        {"label": f.get("label"), "type": f.get("type"), "section": (f.get("section") or {}).get("id"), "value": f.get("value")}
                        for f in it.get("fields", [])
                    ],
                }
        return out

    def bad_json(self):
        code, obj, _ = err(400, "Invalid request body")
        self.reply(code, obj)

    def filtered(self, query, attr, objs):
        f = query.get("filter")
        if not f:
            return objs
        m = FILTER.match(f)
        if not m or m.group(1) != attr:
            return None
        want = m.group(2).replace('\\"', '"')
        return [o for o in objs if o[attr] == want]

    def summary(self, it):
        return {k: v for k, v in it.items() if k not in ("fields", "sections", "files")}

    def normalize(self, vid, item, old=None):
        item = copy.deepcopy(item)
        item["vault"] = {"id": vid}
        item.setdefault("category", "LOGIN")
        item.setdefault("tags", [])
        for s in item.setdefault("sections", []) or []:
            s.setdefault("id", new_id())
        for f in item.setdefault("fields", []) or []:
            f.setdefault("id", new_id())
            f.setdefault("type", "STRING")
            if f.get("generate"):
                f["value"] = pysecrets.token_urlsafe(24)
                f.pop("generate")
                f.pop("recipe", None)
        stamp = now()
        item["createdAt"] = old["createdAt"] if old else stamp
        item["updatedAt"] = stamp
        item["version"] = (old["version"] + 1) if old else 1
        return item

    def route(self, m, path, query, body):
        if path == "/heartbeat" and m == "GET":
            return 200, b".", {}
        if path == "/health" and m == "GET":
            return 200, {"name": "1Password Connect API", "version": "1.7.1", "dependencies": []}, {}
        token = self.bearer()
        if token not in (self.opts.token, self.opts.deny_token) or token is None:
            return err(401, "Invalid token signature")
        vaults, items = self.state["vaults"], self.state["items"]
        if path == "/v1/vaults" and m == "GET":
            if token == self.opts.deny_token:
                return 200, [], {}
            out = self.filtered(query, "name", list(vaults.values()))
            return (400, {"status": 400, "message": "Invalid filter"}, {}) if out is None else (200, out, {})
        r = re.fullmatch(r"/v1/vaults/([^/]+)(?:/items(?:/([^/]+)(/files)?)?)?", path)
        if not r:
            return err(404, f"no route for {m} {path}")
        vid, iid, files = r.group(1), r.group(2), r.group(3)
        if token == self.opts.deny_token:
            return err(403, f"vault {vid} is not in scope")
        if vid not in vaults:
            return err(404, f"vault {vid} not found")
        if path == f"/v1/vaults/{vid}" and m == "GET":
            return 200, vaults[vid], {}
        vitems = items.setdefault(vid, {})
        if iid is None:
            if m == "GET":
                out = self.filtered(query, "title", list(vitems.values()))
                if out is None:
                    return err(400, "Invalid filter")
                return 200, [self.summary(i) for i in out], {}
            if m == "POST":
                if not isinstance(body, dict) or not body.get("title") and body.get("category") != "LOGIN":
                    return err(400, "Invalid item: title is required")
                item = self.normalize(vid, body)
                item["id"] = new_id()
                vitems[item["id"]] = item
                return 200, item, {}
            return err(405, "method not allowed")
        item = vitems.get(iid)
        if item is None:
            return err(404, f"item {iid} not found")
        if files:
            return 200, [], {}
        if m == "GET":
            return 200, item, {}
        if m == "DELETE":
            del vitems[iid]
            return 204, None, {}
        if m == "PUT":
            if not isinstance(body, dict):
                return err(400, "Invalid item")
            new = self.normalize(vid, body, item)
            new["id"] = iid
            vitems[iid] = new
            return 200, new, {}
        if m == "PATCH":
            new = copy.deepcopy(item)
            for op in body or []:
                p, kind = op.get("path", ""), op.get("op")
                if p == "/title" and kind in ("add", "replace"):
                    new["title"] = op["value"]
                elif p == "/fields" and kind == "add":
                    new["fields"].append(op["value"])
                elif re.fullmatch(r"/fields/[^/]+(/value)?", p):
                    fid = p.split("/")[2]
                    f = next((x for x in new["fields"] if x["id"] == fid), None)
                    if f is None:
                        return err(400, f"field {fid} not found")
                    if kind == "remove" and not p.endswith("/value"):
                        new["fields"].remove(f)
                    elif kind in ("add", "replace") and p.endswith("/value"):
                        f["value"] = op["value"]
                    elif kind == "replace":
                        f.update(op["value"])
                    else:
                        return err(400, f"unsupported patch {kind} {p}")
                else:
                    return err(400, f"unsupported patch {kind} {p}")
            new = self.normalize(vid, new, item)
            vitems[iid] = new
            return 200, new, {}
        return err(405, "method not allowed")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--vault", action="append", default=[], help="a vault name to serve (repeatable)")
    opts = p.parse_args()
    for name in opts.vault or ["Private"]:
        vid = new_id()
        Connect.state["vaults"][vid] = {"id": vid, "name": name, "type": "USER_CREATED", "attributeVersion": 1,
                                        "contentVersion": 1, "items": 0, "createdAt": now(), "updatedAt": now()}
    fakecommon.serve(Connect, opts)
