"""Fidelity check: drives the GCP Cloud KMS fake with Google's official Python client
(google-cloud-kms, REST transport). Exits non-zero on the first difference.

usage: check_gcp_kms.py URL TOKEN DENY_TOKEN"""
import sys

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.exceptions import RefreshError
from google.cloud import kms_v1 as kms
from google.oauth2.credentials import Credentials

url, token, deny = sys.argv[1], sys.argv[2], sys.argv[3]


def client(tok):
    return kms.KeyManagementServiceClient(
        transport="rest",
        credentials=Credentials(token=tok),
        client_options=ClientOptions(api_endpoint=url),
    )


c = client(token)
checks = 0


def ok(cond, what):
    global checks
    if not cond:
        sys.exit(f"FAIL: {what}")
    checks += 1


def raises(exc, fn, what):
    try:
        fn()
    except exc:
        ok(True, what)
        return
    except Exception as e:  # noqa: BLE001
        sys.exit(f"FAIL: {what}: got {type(e).__name__}: {e}")
    sys.exit(f"FAIL: {what}: no error")


loc = "projects/fidelity/locations/global"
ring = c.create_key_ring(request={"parent": loc, "key_ring_id": "sops", "key_ring": {}})
ok(ring.name == f"{loc}/keyRings/sops", "create key ring returns its name")
raises(gexc.Conflict, lambda: c.create_key_ring(request={"parent": loc, "key_ring_id": "sops", "key_ring": {}}), "duplicate ring is 409")
ok(c.get_key_ring(name=ring.name).name == ring.name, "get key ring")
key = c.create_crypto_key(request={"parent": ring.name, "crypto_key_id": "data",
                                   "crypto_key": {"purpose": kms.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT}})
ok(key.name == f"{ring.name}/cryptoKeys/data", "create crypto key returns its name")
ok(key.primary.name.endswith("/cryptoKeyVersions/1"), "the key has a primary version")
other = c.create_crypto_key(request={"parent": ring.name, "crypto_key_id": "other",
                                     "crypto_key": {"purpose": kms.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT}})
raises(gexc.NotFound, lambda: c.create_crypto_key(request={"parent": f"{loc}/keyRings/nope", "crypto_key_id": "x",
                                                            "crypto_key": {"purpose": kms.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT}}), "key in a missing ring is 404")
ok(c.get_crypto_key(name=key.name).purpose == kms.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT, "get crypto key")

secret = bytes(range(32))
enc = c.encrypt(request={"name": key.name, "plaintext": secret})
ok(enc.name.startswith(key.name + "/cryptoKeyVersions/"), "encrypt names the version used")
ok(enc.ciphertext and secret not in enc.ciphertext, "ciphertext hides the plaintext")
dec = c.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext})
ok(dec.plaintext == secret, "decrypt returns the plaintext")
ok(c.encrypt(request={"name": key.name, "plaintext": secret}).ciphertext != enc.ciphertext, "ciphertexts are randomized")
aad = c.encrypt(request={"name": key.name, "plaintext": b"x", "additional_authenticated_data": b"ctx"})
ok(c.decrypt(request={"name": key.name, "ciphertext": aad.ciphertext, "additional_authenticated_data": b"ctx"}).plaintext == b"x", "AAD round trip")
raises(gexc.BadRequest, lambda: c.decrypt(request={"name": key.name, "ciphertext": aad.ciphertext}), "missing AAD is 400")
tampered = enc.ciphertext[:-1] + bytes([enc.ciphertext[-1] ^ 1])
raises(gexc.BadRequest, lambda: c.decrypt(request={"name": key.name, "ciphertext": tampered}), "tampered ciphertext is 400")
raises(gexc.BadRequest, lambda: c.decrypt(request={"name": other.name, "ciphertext": enc.ciphertext}), "another key's ciphertext is 400")
raises(gexc.NotFound, lambda: c.encrypt(request={"name": f"{ring.name}/cryptoKeys/missing", "plaintext": b"x"}), "missing key is 404")
raises(gexc.Forbidden, lambda: client(deny).decrypt(request={"name": key.name, "ciphertext": enc.ciphertext}), "denied token is 403")
# On a 401 google-auth tries to refresh the token, which a bare token cannot do.
raises((gexc.Unauthorized, RefreshError), lambda: client("wrong").encrypt(request={"name": key.name, "plaintext": b"x"}), "unknown token is 401")

print(f"ok: {checks} checks")
