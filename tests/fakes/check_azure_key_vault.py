"""Fidelity check: drives the Azure Key Vault fake with Microsoft's official Python SDK
(azure-keyvault-secrets over azure-core), trusting the test CA explicitly. Exits non-zero on the
first difference.

usage: check_azure_key_vault.py VAULT_URL CA_PEM TOKEN DENY_TOKEN TENANT"""
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

url, ca, token, deny, tenant = sys.argv[1:6]
checks = 0
seen_tenants = []


class StaticCredential:
    def __init__(self, tok):
        self.tok = tok

    def get_token(self, *scopes, **kw):
        seen_tenants.append(kw.get("tenant_id"))
        if scopes != ("https://vault.azure.net/.default",):
            sys.exit(f"FAIL: unexpected scopes {scopes}")
        return AccessToken(self.tok, int(time.time()) + 3600)


def client(tok):
    return SecretClient(url, StaticCredential(tok), verify_challenge_resource=False, connection_verify=ca)


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


c = client(token)
s = c.set_secret("atmos-dev-api-DB-PASSWORD", '"p@ss"', content_type="application/json")
ok(s.value == '"p@ss"' and len(s.properties.version) == 32, "set returns the bundle with a version")
ok(seen_tenants and seen_tenants[0] == tenant, "challenge carries the tenant")
s2 = c.set_secret("atmos-dev-api-DB-PASSWORD", '"two"')
ok(c.get_secret("atmos-dev-api-DB-PASSWORD").value == '"two"', "get latest")
ok(c.get_secret("atmos-dev-api-DB-PASSWORD", s.properties.version).value == '"p@ss"', "get by version")
ok(len(list(c.list_properties_of_secret_versions("atmos-dev-api-DB-PASSWORD"))) == 2, "list versions")
ok([p.name for p in c.list_properties_of_secrets()] == ["atmos-dev-api-DB-PASSWORD"], "list secrets")
raises(ResourceNotFoundError, lambda: c.get_secret("nope"), "missing is 404")
raises(HttpResponseError, lambda: c.set_secret("bad_name", "x"), "invalid name is 400")
c.update_secret_properties("atmos-dev-api-DB-PASSWORD", s2.properties.version, enabled=False)
raises(HttpResponseError, lambda: c.get_secret("atmos-dev-api-DB-PASSWORD"), "disabled secret is 403")
c.update_secret_properties("atmos-dev-api-DB-PASSWORD", s2.properties.version, enabled=True)
poller = c.begin_delete_secret("atmos-dev-api-DB-PASSWORD")
d = poller.result()
ok(d.recovery_id.endswith("/deletedsecrets/atmos-dev-api-DB-PASSWORD"), "soft delete")
raises(ResourceNotFoundError, lambda: c.get_secret("atmos-dev-api-DB-PASSWORD"), "deleted is gone")
raises(ResourceExistsError, lambda: c.set_secret("atmos-dev-api-DB-PASSWORD", "x"), "set on a deleted name is 409")
ok(c.get_deleted_secret("atmos-dev-api-DB-PASSWORD").name == "atmos-dev-api-DB-PASSWORD", "get deleted")
c.begin_recover_deleted_secret("atmos-dev-api-DB-PASSWORD").result()
ok(c.get_secret("atmos-dev-api-DB-PASSWORD").value == '"two"', "recover")
c.begin_delete_secret("atmos-dev-api-DB-PASSWORD").result()
c.purge_deleted_secret("atmos-dev-api-DB-PASSWORD")
raises(ResourceNotFoundError, lambda: c.get_deleted_secret("atmos-dev-api-DB-PASSWORD"), "purged")
c.set_secret("atmos-dev-api-DB-PASSWORD", '"again"')
ok(c.get_secret("atmos-dev-api-DB-PASSWORD").value == '"again"', "name reusable after purge")
raises(ClientAuthenticationError, lambda: client("wrong").get_secret("atmos-dev-api-DB-PASSWORD"), "wrong token is 401")
raises(HttpResponseError, lambda: client(deny).get_secret("atmos-dev-api-DB-PASSWORD"), "denied token is 403")
print(f"ok: {checks} checks")
