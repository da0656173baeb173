"""Fidelity check: drives the GCP Secret Manager fake with Google's official Python client
(google-cloud-secret-manager, REST transport). Exits non-zero on the first difference.

usage: check_gcp_secret_manager.py URL TOKEN DENY_TOKEN"""
import sys

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.cloud import secretmanager_v1 as sm
from google.oauth2.credentials import Credentials

url, token, deny = sys.argv[1], sys.argv[2], sys.argv[3]


def client(tok):
    return sm.SecretManagerServiceClient(
        transport="rest",
        credentials=Credentials(token=tok),
        client_options=ClientOptions(api_endpoint=url),
    )


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


c = client(token)
parent = "projects/fidelity"
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


s = c.create_secret(request={"parent": parent, "secret_id": "db_pw", "secret": {"replication": {"automatic": {}}}})
ok(s.name.endswith("/secrets/db_pw"), "create returns the secret name")
raises(gexc.Conflict, lambda: c.create_secret(request={"parent": parent, "secret_id": "db_pw", "secret": {"replication": {"automatic": {}}}}), "duplicate create is 409")
um = c.create_secret(request={"parent": parent, "secret_id": "um", "secret": {"replication": {"user_managed": {"replicas": [{"location": "us-east1"}]}}}})
ok(um.replication.user_managed.replicas[0].location == "us-east1", "user-managed replication kept")
data = b'"v1 \xc3\xa4"'
v = c.add_secret_version(request={"parent": s.name.replace("123456789012", "fidelity"), "payload": {"data": data, "data_crc32c": crc32c(data)}})
ok(v.name.endswith("/versions/1") and v.client_specified_payload_checksum, "addVersion with crc32c")
raises(gexc.BadRequest, lambda: c.add_secret_version(request={"parent": f"{parent}/secrets/db_pw", "payload": {"data": b"x", "data_crc32c": 1}}), "crc mismatch is 400")
c.add_secret_version(request={"parent": f"{parent}/secrets/db_pw", "payload": {"data": b"v2"}})
r = c.access_secret_version(request={"name": f"{parent}/secrets/db_pw/versions/latest"})
ok(r.payload.data == b"v2" and r.payload.data_crc32c == crc32c(b"v2"), "latest is the newest version, with crc32c")
r = c.access_secret_version(request={"name": f"{parent}/secrets/db_pw/versions/1"})
ok(r.payload.data == data, "version 1 by number")
ok(c.get_secret(request={"name": f"{parent}/secrets/db_pw"}).name.endswith("db_pw"), "get secret metadata")
raises(gexc.NotFound, lambda: c.get_secret(request={"name": f"{parent}/secrets/nope"}), "missing secret is 404")
raises(gexc.NotFound, lambda: c.access_secret_version(request={"name": f"{parent}/secrets/nope/versions/latest"}), "missing access is 404")
names = [x.name for x in c.list_secret_versions(request={"parent": f"{parent}/secrets/db_pw"})]
ok(len(names) == 2, "list versions")
c.disable_secret_version(request={"name": f"{parent}/secrets/db_pw/versions/2"})
raises(gexc.BadRequest, lambda: c.access_secret_version(request={"name": f"{parent}/secrets/db_pw/versions/latest"}), "disabled latest fails precondition")
for i in range(30):
    c.create_secret(request={"parent": parent, "secret_id": f"p{i:02}", "secret": {"replication": {"automatic": {}}}})
ok(len(list(c.list_secrets(request={"parent": parent, "page_size": 7}))) == 32, "list secrets paginates")
c.delete_secret(request={"name": f"{parent}/secrets/db_pw"})
raises(gexc.NotFound, lambda: c.get_secret(request={"name": f"{parent}/secrets/db_pw"}), "deleted secret is gone")
raises(gexc.Forbidden, lambda: client(deny).get_secret(request={"name": f"{parent}/secrets/um"}), "token without permission is 403")
# authorized_user credentials: the client refreshes at the fake's token endpoint first.
refreshing = sm.SecretManagerServiceClient(
    transport="rest",
    credentials=Credentials(token=None, refresh_token="refresh-me", token_uri=f"{url}/token",
                            client_id="cid", client_secret="csecret"),
    client_options=ClientOptions(api_endpoint=url),
)
ok(refreshing.get_secret(request={"name": f"{parent}/secrets/um"}).name.endswith("/um"), "refresh-token grant at /token")
print(f"ok: {checks} checks")
