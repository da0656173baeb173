"""Fidelity check: drives the Azure Key Vault keys fake with Microsoft's official Python SDK
(azure-keyvault-keys: KeyClient and CryptographyClient, RSA-OAEP-256), trusting the test CA
explicitly. Exits non-zero on the first difference.

usage: check_azure_kv_keys.py VAULT_URL CA_PEM TOKEN DENY_TOKEN"""
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.keyvault.keys import KeyClient
from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm

url, ca, token, deny = sys.argv[1:5]
checks = 0


class StaticCredential:
    def __init__(self, tok):
        self.tok = tok

    def get_token(self, *scopes, **kw):
        if scopes != ("https://vault.azure.net/.default",):
            sys.exit(f"FAIL: unexpected scopes {scopes}")
        return AccessToken(self.tok, int(time.time()) + 3600)


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


kw = {"verify_challenge_resource": False, "connection_verify": ca}
keys = KeyClient(url, StaticCredential(token), **kw)
k1 = keys.create_rsa_key("fidelity", size=2048)
ok(k1.id.startswith(f"{url}/keys/fidelity/"), "create returns the key id")
ok(k1.key_type == "RSA" and k1.key.n and k1.key.e, "the public JWK is returned")
k2 = keys.create_rsa_key("fidelity", size=2048)
ok(k2.properties.version != k1.properties.version, "create adds a version")
ok(keys.get_key("fidelity").properties.version == k2.properties.version, "get returns the latest version")
ok(keys.get_key("fidelity", k1.properties.version).id == k1.id, "get by version")
raises(ResourceNotFoundError, lambda: keys.get_key("missing"), "missing key is 404")

secret = bytes(range(32))
crypto = CryptographyClient(k1.id, StaticCredential(token), **kw)
enc = crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, secret)
ok(len(enc.ciphertext) == 256 and secret not in enc.ciphertext, "RSA-OAEP-256 ciphertext")
ok(crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc.ciphertext).plaintext == secret, "decrypt round trip")
# Encryption happens in the client with the public JWK; decryption is always the service's.
enc2 = crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, secret)
ok(enc2.ciphertext != enc.ciphertext, "OAEP is randomized")
dec = crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc2.ciphertext)
ok(dec.plaintext == secret and dec.key_id == k1.id, "the service decrypts and names the key version")
tampered = enc2.ciphertext[:-1] + bytes([enc2.ciphertext[-1] ^ 1])
raises(HttpResponseError, lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, tampered), "tampered ciphertext is 400")
other = CryptographyClient(k2.id, StaticCredential(token), **kw)
raises(HttpResponseError, lambda: other.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc2.ciphertext), "another version cannot decrypt")
raises(HttpResponseError, lambda: crypto.decrypt(EncryptionAlgorithm.rsa_oaep, enc2.ciphertext), "RSA-OAEP (SHA-1) is refused")
denied = CryptographyClient(k1.id, StaticCredential(deny), **kw)
try:
    denied.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc2.ciphertext)
    sys.exit("FAIL: denied token: no error")
except HttpResponseError as e:
    ok(e.status_code == 403, "denied token is 403")
raises(ClientAuthenticationError, lambda: KeyClient(url, StaticCredential("wrong"), **kw).get_key("fidelity"), "unknown token is 401")

print(f"ok: {checks} checks")
