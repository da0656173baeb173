"""A stateful wire fake of the GCP Cloud KMS v1 REST API, the part SOPS uses (the JSON/HTTP
surface of Google's clients with transport="rest").

Covers: keyRings create/get, cryptoKeys create/get (purpose ENCRYPT_DECRYPT, version 1 primary),
cryptoKeys :encrypt / :decrypt. Ciphertexts are authenticated and bound to the key (a per-key
secret, HMAC-SHA256 tag): a tampered ciphertext or one from another key answers 400
INVALID_ARGUMENT like the service. Errors use Google's JSON error shape and gRPC status names.
Auth: with --token only that bearer is accepted (401 UNAUTHENTICATED); --deny-token answers 403
PERMISSION_DENIED. --key NAME creates a key (and its ring) at start.

usage: gcp_kms.py --port N [--token T] [--deny-token D] [--key projects/P/locations/L/keyRings/R/cryptoKeys/K]...
"""
import base64
import hashlib
import hmac
import os
import re
import time

import fakecommon

RING = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+)/keyRings")
KEYS = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/:]+)/cryptoKeys")
KEY = re.compile(r"/v1/(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+)(:encrypt|:decrypt)?")
ID = re.compile(r"[A-Za-z0-9_-]{1,63}")
MAGIC = b"FKMS"


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def err(code, status, message):
    return code, {"error": {"code": code, "message": message, "status": status}}, {}


def stream(secret, nonce, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(secret + nonce + i.to_bytes(4, "big")).digest()
        i += 1
    return out[:n]


class Kms(fakecommon.Handler):
    # state: {"rings": {name: createTime}, "keys": {name: {"secret": hex, "createTime": t}}}
    state = {"rings": {}, "keys": {}}

    def dump_state(self):
        return {"rings": sorted(self.state["rings"]), "keys": sorted(self.state["keys"])}

    def bad_json(self):
        code, obj, _ = err(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        self.reply(code, obj)

    @classmethod
    def add_key(cls, name):
        ring = name.split("/cryptoKeys/")[0]
        cls.state["rings"].setdefault(ring, now())
        cls.state["keys"][name] = {"secret": os.urandom(32).hex(), "createTime": now()}

    def key_json(self, name):
        k = self.state["keys"][name]
        return {
            "name": name,
            "purpose": "ENCRYPT_DECRYPT",
            "createTime": k["createTime"],
            "primary": {"name": f"{name}/cryptoKeyVersions/1", "state": "ENABLED",
                        "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
            "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"},
        }

    def b64(self, body, field):
        try:
            return base64.b64decode(body.get(field) or "", validate=True)
        except ValueError:
            return None

    def route(self, m, path, query, body):
        token = self.bearer()
        if self.opts.deny_token and token == self.opts.deny_token:
            what = "useToDecrypt" if path.endswith(":decrypt") else "useToEncrypt"
            resource = path[4:].split(":")[0]
            return err(403, "PERMISSION_DENIED",
                       f"Permission 'cloudkms.cryptoKeyVersions.{what}' denied on resource '{resource}' (or it may not exist).")
        if self.opts.token and token != self.opts.token:
            return err(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        body = body or {}
        r = RING.fullmatch(path)
        if r and m == "POST":
            rid = query.get("keyRingId", "")
            if not ID.fullmatch(rid):
                return err(400, "INVALID_ARGUMENT", f"Invalid key ring id {rid!r}.")
            name = f"{r.group(1)}/keyRings/{rid}"
            if name in self.state["rings"]:
                return err(409, "ALREADY_EXISTS", f"KeyRing {name} already exists.")
            self.state["rings"][name] = now()
            return 200, {"name": name, "createTime": self.state["rings"][name]}, {}
        r = KEYS.fullmatch(path)
        if r and m == "POST":
            ring, kid = r.group(1), query.get("cryptoKeyId", "")
            if ring not in self.state["rings"]:
                return err(404, "NOT_FOUND", f"KeyRing {ring} not found.")
            if not ID.fullmatch(kid):
                return err(400, "INVALID_ARGUMENT", f"Invalid crypto key id {kid!r}.")
            if body.get("purpose") not in ("ENCRYPT_DECRYPT", 1):
                return err(400, "INVALID_ARGUMENT", "Only purpose ENCRYPT_DECRYPT is supported here.")
            name = f"{ring}/cryptoKeys/{kid}"
            if name in self.state["keys"]:
                return err(409, "ALREADY_EXISTS", f"CryptoKey {name} already exists.")
            self.add_key(name)
            return 200, self.key_json(name), {}
        r = RING.fullmatch(path.rsplit("/", 1)[0]) if m == "GET" and "/cryptoKeys" not in path else None
        if r:
            name = path[4:]
            if name not in self.state["rings"]:
                return err(404, "NOT_FOUND", f"KeyRing {name} not found.")
            return 200, {"name": name, "createTime": self.state["rings"][name]}, {}
        r = KEY.fullmatch(path)
        if r:
            name, action = r.group(1), r.group(2)
            if name not in self.state["keys"]:
                return err(404, "NOT_FOUND", f"CryptoKey {name} not found.")
            secret = bytes.fromhex(self.state["keys"][name]["secret"])
            if action is None and m == "GET":
                return 200, self.key_json(name), {}
            if action == ":encrypt" and m == "POST":
                plain = self.b64(body, "plaintext")
                if plain is None or len(plain) > 65536:
                    return err(400, "INVALID_ARGUMENT", "plaintext must be base64 of at most 64 KiB.")
                aad = self.b64(body, "additionalAuthenticatedData") or b""
                nonce = os.urandom(12)
                ct = bytes(a ^ b for a, b in zip(plain, stream(secret, nonce, len(plain))))
                tag = hmac.new(secret, nonce + ct + aad, hashlib.sha256).digest()[:16]
                blob = MAGIC + nonce + tag + ct
                return 200, {"name": f"{name}/cryptoKeyVersions/1",
                             "ciphertext": base64.b64encode(blob).decode(),
                             "verifiedPlaintextCrc32c": False, "protectionLevel": "SOFTWARE"}, {}
            if action == ":decrypt" and m == "POST":
                blob = self.b64(body, "ciphertext")
                aad = self.b64(body, "additionalAuthenticatedData") or b""
                bad = err(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")
                if not blob or len(blob) < 32 or not blob.startswith(MAGIC):
                    return bad
                nonce, tag, ct = blob[4:16], blob[16:32], blob[32:]
                want = hmac.new(secret, nonce + ct + aad, hashlib.sha256).digest()[:16]
                if not hmac.compare_digest(tag, want):
                    return bad
                plain = bytes(a ^ b for a, b in zip(ct, stream(secret, nonce, len(ct))))
                return 200, {"plaintext": base64.b64encode(plain).decode(), "usedPrimary": True,
                             "protectionLevel": "SOFTWARE"}, {}
        return err(404, "NOT_FOUND", f"no route for {m} {path}")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--key", action="append", default=[], help="create this crypto key at start")
    opts = p.parse_args()
    for k in opts.key:
        Kms.add_key(k)
    fakecommon.serve(Kms, opts)
