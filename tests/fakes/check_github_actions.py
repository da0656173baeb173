"""Fidelity check: drives the GitHub Actions secrets fake with the official-style Python client
PyGithub (which seals values with PyNaCl), and opens what it stored with PyNaCl's SealedBox and
the fake's private key. Exits non-zero on the first difference.

Also a helper for the tests: `keypair` prints a fresh X25519 key pair (base64 public, private);
`open PRIVATE_B64 SEALED_B64` prints the plaintext of a sealed box.

usage: check_github_actions.py check URL OWNER REPO TOKEN PRIVATE_B64
       check_github_actions.py keypair
       check_github_actions.py open PRIVATE_B64 SEALED_B64"""
import base64
import json
import sys
import urllib.request

from nacl.public import PrivateKey, SealedBox


def unseal(private_b64, sealed_b64):
    box = SealedBox(PrivateKey(base64.b64decode(private_b64)))
    return box.decrypt(base64.b64decode(sealed_b64)).decode()


mode = sys.argv[1]
if mode == "keypair":
    k = PrivateKey.generate()
    print(json.dumps({"public": base64.b64encode(bytes(k.public_key)).decode(),
                      "private": base64.b64encode(bytes(k)).decode()}))
    sys.exit(0)
if mode == "open":
    print(unseal(sys.argv[2], sys.argv[3]), end="")
    sys.exit(0)

import github  # noqa: E402

url, owner, repo_name, token, private = sys.argv[2:7]
checks = 0


def ok(cond, what):
    global checks
    if not cond:
        sys.exit(f"FAIL: {what}")
    checks += 1


def state():
    with urllib.request.urlopen(url + "/_fake/state", timeout=5) as r:
        return json.load(r)


g = github.Github(auth=github.Auth.Token(token), base_url=url)
repo = g.get_repo(f"{owner}/{repo_name}")
ok(repo.full_name == f"{owner}/{repo_name}", "get_repo")
repo.create_secret("CHECK_SECRET", "pygithub-value")
sealed = state()["repo"]["CHECK_SECRET"]["encrypted_value"]
ok(unseal(private, sealed) == "pygithub-value", "the sealed value opens with the private key")
names = [s.name for s in repo.get_secrets()]
ok("CHECK_SECRET" in names, f"list: {names}")
ok(repo.get_secret("CHECK_SECRET").name == "CHECK_SECRET", "get metadata")
ok(repo.delete_secret("CHECK_SECRET"), "delete")
ok("CHECK_SECRET" not in state().get("repo", {}), "deleted from state")
try:
    github.Github(auth=github.Auth.Token("wrong"), base_url=url).get_repo(f"{owner}/{repo_name}")
    sys.exit("FAIL: a wrong token passed")
except github.GithubException as e:
    ok(e.status == 401, f"wrong token: {e.status}")
print(f"ok: {checks} checks")
