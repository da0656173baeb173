"""Fidelity check: drives the 1Password Connect fake with 1Password's official Python Connect SDK
(onepasswordconnectsdk). Exits non-zero on the first difference.

usage: check_onepassword_connect.py URL TOKEN DENY_TOKEN (the fake must serve a vault "CI Vault")"""
import sys

import onepasswordconnectsdk
from onepasswordconnectsdk.client import new_client
from onepasswordconnectsdk.models import Field, Item, ItemVault, Section
from onepasswordconnectsdk.models.field_section import FieldSection

url, token, deny = sys.argv[1:4]
checks = 0


def ok(cond, what):
    global checks
    if not cond:
        sys.exit(f"FAIL: {what}")
    checks += 1


def fails(status, fn, what):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        ok(str(status) in str(e) or getattr(e, "status_code", 0) == status, f"{what}: {e}")
        return
    sys.exit(f"FAIL: {what}: no error")


c = new_client(url, token)
vault = c.get_vault_by_title("CI Vault")
ok(len(vault.id) == 26 and [v.name for v in c.get_vaults()] == ["CI Vault"], "vaults by title and list")
item = Item(vault=ItemVault(id=vault.id), title="db", category="API_CREDENTIAL",
            sections=[Section(id="sec1", label="dev")],
            fields=[Field(label="password", value="hunter2", type="CONCEALED", section=FieldSection(id="sec1"))])
created = c.create_item(vault.id, item)
ok(len(created.id) == 26 and created.category == "API_CREDENTIAL" and created.version == 1, "create item")
got = c.get_item_by_title("db", vault.id)
ok(got.id == created.id and got.fields[0].value == "hunter2" and got.fields[0].section.id == "sec1", "get by title with section")
ok(c.get_item("db", "CI Vault").id == created.id, "get item by title and vault name")
ok([i.title for i in c.get_items(vault.id)] == ["db"], "list items")
got.fields.append(Field(label="user", value="app", type="STRING"))
upd = c.update_item(got.id, vault.id, got)
ok(upd.version == 2 and len(upd.fields) == 2, "replace item (PUT)")
d = onepasswordconnectsdk.load_dict(c, {"pw": {"opitem": "db", "opfield": "dev.password", "opvault": vault.id}})
ok(d == {"pw": "hunter2"}, f"load_dict with a section: {d}")
c.delete_item(created.id, vault.id)
fails(404, lambda: c.get_item_by_id(created.id, vault.id), "deleted item is 404")
fails(401, lambda: new_client(url, "wrong").get_vaults(), "wrong token is 401")
fails(403, lambda: new_client(url, deny).get_item_by_id(created.id, vault.id), "token without the vault is 403")
print(f"ok: {checks} checks")
