"""A stateful HTTPS wire fake of the Azure Key Vault keys data plane, the part SOPS uses (the
surface of Microsoft's azure-keyvault-keys and of sops's azkeys client).

Covers: create RSA key (POST /keys/{n}/create, a new version each time), get key (latest or by
version; public JWK n/e), encrypt/decrypt with RSA-OAEP-256 (real RSA, stdlib only: keys made
with Miller-Rabin primes, OAEP with SHA-256/MGF1 per RFC 8017). Other algorithms answer 400
BadParameter; a ciphertext that does not decrypt answers 400 like the service. Challenge auth as
the secrets fake: no bearer -> 401 with `WWW-Authenticate`; with --token only that bearer passes,
--deny-token answers 403 Forbidden (`POST /_fake/deny?token=T` changes it at run time).
--rsa-key NAME creates a key at start.

usage: azure_kv_keys.py --port N --cert leaf.pem --key leaf.key [--token T] [--deny-token D]
                        [--rsa-key NAME]... [--key-size BITS]
"""
import base64
import hashlib
import math
import os
import re
import secrets as pysecrets
import time

import fakecommon

NAME = re.compile(r"[0-9A-Za-z-]{1,127}")
SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p ** 0.5) + 1, 2))]
SMALL_PRODUCT = 1
for _p in SMALL_PRIMES:
    SMALL_PRODUCT *= _p


def err(code, ecode, message):
    return code, {"error": {"code": ecode, "message": message}}, {}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def is_prime(n):
    # One gcd with the product of the small primes sieves most candidates cheaply.
    if math.gcd(n, SMALL_PRODUCT) != 1:
        return n in SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(16):
        a = pysecrets.randbelow(n - 3) + 2
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(bits):
    while True:
        c = pysecrets.randbits(bits) | (3 << (bits - 2)) | 1
        if is_prime(c):
            return c


def rsa_key(bits):
    e = 65537
    while True:
        p, q = prime(bits // 2), prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            return {"n": p * q, "e": e, "d": pow(e, -1, phi)}


def mgf1(seed, length):
    out = b""
    for i in range((length + 31) // 32):
        out += hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
    return out[:length]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def oaep_encrypt(key, msg):
    k, h = (key["n"].bit_length() + 7) // 8, 32
    if len(msg) > k - 2 * h - 2:
        return None
    db = hashlib.sha256(b"").digest() + b"\0" * (k - len(msg) - 2 * h - 2) + b"\1" + msg
    seed = os.urandom(h)
    masked_db = xor(db, mgf1(seed, k - h - 1))
    em = b"\0" + xor(seed, mgf1(masked_db, h)) + masked_db
    return pow(int.from_bytes(em, "big"), key["e"], key["n"]).to_bytes(k, "big")


def oaep_decrypt(key, ct):
    k, h = (key["n"].bit_length() + 7) // 8, 32
    c = int.from_bytes(ct, "big")
    if len(ct) != k or c >= key["n"]:
        return None
    em = pow(c, key["d"], key["n"]).to_bytes(k, "big")
    masked_seed, masked_db = em[1:1 + h], em[1 + h:]
    seed = xor(masked_seed, mgf1(masked_db, h))
    db = xor(masked_db, mgf1(seed, k - h - 1))
    rest = db[h:].lstrip(b"\0")
    if em[0] != 0 or db[:h] != hashlib.sha256(b"").digest() or not rest.startswith(b"\1"):
        return None
    return rest[1:]


class AkvKeys(fakecommon.Handler):
    # state: {"keys": {name: [{"version", "key", "created"}...]}, "challenges": n}
    state = {"keys": {}, "challenges": 0}

    def dump_state(self):
        return {"keys": {n: [v["version"] for v in vs] for n, vs in self.state["keys"].items()},
                "challenges": self.state["challenges"]}

    def bad_json(self):
        code, obj, _ = err(400, "BadParameter", "The request body is not valid JSON.")
        self.reply(code, obj)

    @classmethod
    def add_key(cls, name, bits):
        v = {"version": pysecrets.token_hex(16), "key": rsa_key(bits), "created": int(time.time())}
        cls.state["keys"].setdefault(name, []).append(v)
        return v

    def bundle(self, name, v):
        host = self.headers.get("Host", "127.0.0.1")
        k = v["key"]
        return {
            "key": {"kid": f"https://{host}/keys/{name}/{v['version']}", "kty": "RSA",
                    "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                    "n": b64u(k["n"].to_bytes((k["n"].bit_length() + 7) // 8, "big")),
                    "e": b64u(k["e"].to_bytes(3, "big"))},
            "attributes": {"enabled": True, "created": v["created"], "updated": v["created"],
                           "recoveryLevel": "Recoverable+Purgeable"},
        }

    def route(self, m, path, query, body):
        if path == "/_fake/deny" and m == "POST":
            # Test control: from now on this bearer is valid but lacks permission.
            self.opts.deny_token = query.get("token") or None
            return 200, {"deny_token": self.opts.deny_token}, {}
        if "api-version" not in query:
            return err(400, "BadParameter", "The 'api-version' query parameter is missing.")
        token = self.bearer()
        if token is None or (self.opts.token and token not in (self.opts.token, self.opts.deny_token)):
            self.state["challenges"] += 1
            challenge = ('Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
                         'resource="https://vault.azure.net"')
            code, obj, _ = err(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token." if token is None else "AKV10032: Invalid issuer or token.")
            return code, obj, {"WWW-Authenticate": challenge}
        body = body or {}
        if self.opts.deny_token and token == self.opts.deny_token:
            what = path.rstrip("/").rsplit("/", 1)[-1] if path.endswith(("encrypt", "decrypt", "create")) else "get"
            return err(403, "Forbidden", f"The user, group or application does not have keys {what} permission on key vault.")
        r = re.fullmatch(r"/keys/([^/]+)/create", path)
        if r and m == "POST":
            if not NAME.fullmatch(r.group(1)):
                return err(400, "BadParameter", "The key name is invalid.")
            if body.get("kty") not in ("RSA", "RSA-HSM"):
                return err(400, "BadParameter", "Only RSA keys are supported here.")
            v = self.add_key(r.group(1), int(body.get("key_size") or self.opts.key_size))
            return 200, self.bundle(r.group(1), v), {}
        r = re.fullmatch(r"/keys/([^/]+)(?:/([0-9a-f]*))?(?:/(encrypt|decrypt))?/?", path)
        if not r:
            return err(404, "NotFound", f"no route for {m} {path}")
        name, version, op = r.group(1), r.group(2) or "", r.group(3)
        versions = self.state["keys"].get(name)
        if not versions:
            return err(404, "KeyNotFound", f"A key with (name/id) {name} was not found in this key vault.")
        v = versions[-1] if not version else next((x for x in versions if x["version"] == version), None)
        if v is None:
            return err(404, "KeyNotFound", f"A key with (name/id) {name}/{version} was not found in this key vault.")
        if op is None and m == "GET":
            return 200, self.bundle(name, v), {}
        if op and m == "POST":
            if body.get("alg") != "RSA-OAEP-256":
                return err(400, "BadParameter", f"Algorithm {body.get('alg')!r} is not supported here.")
            try:
                value = unb64u(body.get("value") or "")
            except ValueError:
                return err(400, "BadParameter", "value is not base64url.")
            out = oaep_encrypt(v["key"], value) if op == "encrypt" else oaep_decrypt(v["key"], value)
            if out is None:
                return err(400, "BadParameter", "Error while decrypting: the ciphertext is invalid." if op == "decrypt" else "The plaintext is too long for the key.")
            host = self.headers.get("Host", "127.0.0.1")
            return 200, {"kid": f"https://{host}/keys/{name}/{v['version']}", "value": b64u(out)}, {}
        return err(405, "MethodNotAllowed", f"{m} {path}")


if __name__ == "__main__":
    p = fakecommon.arg_parser(__doc__)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True, help="the TLS key of --cert")
    p.add_argument("--rsa-key", action="append", default=[], help="create this RSA key at start")
    p.add_argument("--key-size", type=int, default=2048)
    opts = p.parse_args()
    for k in opts.rsa_key:
        AkvKeys.add_key(k, opts.key_size)
    fakecommon.serve(AkvKeys, opts, opts.cert, opts.key)
