#!/usr/bin/env python3
"""Schemathesis against the real backend, bounded: `cargo xtask test` runs it.

    python3 tests/api/schemathesis_run.py SCHEMATHESIS_BIN KODEKORT_SERVER_BIN

A fresh data dir with one citizen, one provider and a pending document; the
server on a free loopback port; a session by the real login (password, then
the card's code). Then `st run --checks all` on the server's own OpenAPI
document, with a fixed seed and a fixed number of examples per operation.
`POST /logout` ends the session that the other operations use, so it runs
last, alone.

Then the OpenID Connect provider's JSON endpoints (`/oidc/openapi.json`):
a second citizen logs in to a registered client through the login pages, so
userinfo has a real access token and the token endpoint the client's real
credentials. Exit status: Schemathesis's (0 when nothing was found).
"""

import base64
import hashlib
import http.cookiejar
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

PASSWORD = "bumpy lantern orchard"
EXAMPLES = "100"
SEED = "20261203"

CONFIG = """\
tls-verify = "{ca}"
request-timeout = 20
workers = 1
[generation]
database = "none"
[cache]
enabled = false
[auth.openapi.session]
bearer = "${{KODEKORT_SESSION_TOKEN}}"
[auth.openapi.provider_key]
bearer = "${{KODEKORT_PROVIDER_KEY}}"
[warnings]
fail-on = ["missing_auth"]
# A locked card (423) refuses a valid request for the account's standing,
# as a wait (429) does: after enough wrong random codes it is the right answer.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "423", "429"]
# Half the time, ids and names that exist, so the operations reach their logic.
[dictionaries.documents]
values = ["{document_id}"]
[dictionaries.hashes]
values = ["{sha256}"]
[dictionaries.citizens]
values = ["anna"]
[parameters]
"path.id" = {{ dictionary = "documents", probability = 0.5 }}
"body.sha256" = {{ dictionary = "hashes", probability = 0.5 }}
"body.recipient" = {{ dictionary = "citizens", probability = 0.5 }}
"""


OIDC_CONFIG = """\
tls-verify = "{ca}"
request-timeout = 20
workers = 1
[generation]
database = "none"
[cache]
enabled = false
[auth.openapi.client_basic]
username = "${{KODEKORT_CLIENT_ID}}"
password = "${{KODEKORT_CLIENT_SECRET}}"
[auth.openapi.access_token]
bearer = "${{KODEKORT_ACCESS_TOKEN}}"
[warnings]
fail-on = ["missing_auth"]
# OAuth answers a well-formed token request with an unknown code or the
# wrong credentials with 400 invalid_grant or 401 invalid_client (RFC 6749 5.2).
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401"]
"""

REDIRECT_URI = "https://rp.example/callback"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Stops at every redirect, so the caller reads Location."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def oidc_access_token(issuer, tls, client_id, secret, codes, username):
    """Logs `username` in to the client through the provider's pages."""
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls),
                                         urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                         NoRedirect)

    def fetch(url, form=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with opener.open(urllib.request.Request(url, data=data)) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as answer:  # the 303s, with NoRedirect
            return answer.code, answer.headers, answer.read().decode()

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT_URI,
                                    "response_type": "code", "scope": "openid profile", "state": "st",
                                    "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
    _, headers, _ = fetch(f"{issuer}/oidc/authorize?{query}")
    page_url = issuer + headers["Location"]
    _, _, page = fetch(page_url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    _, _, page = fetch(f"{page_url}/password", {"csrf": csrf, "username": username, "password": PASSWORD})
    key = re.search(r'<dd class="key">(\d{4})</dd>', page).group(1)
    status, headers, _ = fetch(f"{page_url}/code", {"csrf": csrf, "code": codes[key]})
    if status == 200:  # the consent page
        status, headers, _ = fetch(f"{page_url}/consent", {"csrf": csrf, "decision": "allow"})
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(headers["Location"]).query)["code"][0]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT_URI, "code_verifier": verifier}).encode()
    request = urllib.request.Request(f"{issuer}/oidc/token", data=form,
                                     headers={"authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, context=tls) as resp:
        return json.load(resp)["access_token"]


def operator(server, *args, stdin=None):
    out = subprocess.run([server, *args], input=stdin, capture_output=True, text=True, check=True)
    return out.stdout


def main():
    st, server = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="kodekort-st-")
    data = os.path.join(work, "data")
    card_json = os.path.join(work, "card.json")
    operator(server, "user", "add", "--data", data, "--username", "anna", "--name", "Anna Ærø",
             "--password-stdin", "--card-json", card_json, stdin=PASSWORD + "\n")
    bo_card_json = os.path.join(work, "bo-card.json")
    operator(server, "user", "add", "--data", data, "--username", "bo", "--name", "Bo Berg",
             "--password-stdin", "--card-json", bo_card_json, stdin=PASSWORD + "\n")
    registered = operator(server, "client", "add", "--data", data, "--name", "Skattestyrelsen",
                          "--redirect-uri", REDIRECT_URI)
    client_id = re.search(r"^client_id=(.+)$", registered, re.M).group(1)
    client_secret = re.search(r"^client_secret=(.+)$", registered, re.M).group(1)
    provider_key = operator(server, "provider", "add", "--data", data, "--name", "Kommunen").split()[-1]
    content = os.path.join(work, "consent.txt")
    with open(content, "w", encoding="utf-8") as f:
        f.write("Jeg giver samtykke.\n")
    added = operator(server, "document", "add", "--data", data, "--recipient", "anna",
                     "--title", "Samtykke", "--file", content)
    # "document doc_… added (sha256 …)"
    words = added.split()
    document_id, sha256 = words[1], words[-1].rstrip(")")

    serve = subprocess.Popen([server, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = serve.stdout.readline().strip()
        assert first.startswith("listening on https://"), first
        port = first.rsplit(":", 1)[1]
        base = f"https://localhost:{port}/api/v1"
        ca = os.path.join(data, "ca.pem")
        tls = ssl.create_default_context(cafile=ca)

        def call(path, body=None, token=None):
            headers = {"content-type": "application/json"}
            if token:
                headers["authorization"] = f"Bearer {token}"
            data_bytes = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(base + path, data=data_bytes, headers=headers)
            with urllib.request.urlopen(req, context=tls) as resp:
                return json.load(resp)

        with open(card_json, encoding="utf-8") as f:
            card = json.load(f)
        codes = {pair["key"]: pair["code"] for pair in card["codes"]}
        challenge = call("/login", {"username": "anna", "password": PASSWORD})
        session = call(f"/login/{challenge['login_id']}/code", {"code": codes[challenge["key"]]})
        schema = os.path.join(work, "openapi.json")
        with open(schema, "w", encoding="utf-8") as f:
            json.dump(call("/openapi.json"), f)
        config = os.path.join(work, "schemathesis.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(CONFIG.format(ca=ca, document_id=document_id, sha256=sha256))

        env = dict(os.environ,
                   KODEKORT_SESSION_TOKEN=session["token"],
                   KODEKORT_PROVIDER_KEY=provider_key,
                   HYPOTHESIS_STORAGE_DIRECTORY=os.path.join(work, "hypothesis"))
        status = 0
        for scope in (["--exclude-path", "/logout"], ["--include-path", "/logout"]):
            cmd = [st, "--no-color", "--config-file", config, "run", schema, "--url", base,
                   "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED,
                   "--continue-on-failure", *scope]
            print("schemathesis_run:", " ".join(cmd), flush=True)
            # Its files (.hypothesis, reports) go to the temp dir, not the checkout.
            run = subprocess.run(cmd, env=env, cwd=work, timeout=900)
            status = status or run.returncode

        # The provider's JSON endpoints, at the root.
        issuer = f"https://localhost:{port}"
        with open(bo_card_json, encoding="utf-8") as f:
            bo_codes = {pair["key"]: pair["code"] for pair in json.load(f)["codes"]}
        access_token = oidc_access_token(issuer, tls, client_id, client_secret, bo_codes, "bo")
        oidc_schema = os.path.join(work, "oidc-openapi.json")
        with urllib.request.urlopen(f"{issuer}/oidc/openapi.json", context=tls) as resp, \
                open(oidc_schema, "w", encoding="utf-8") as f:
            json.dump(json.load(resp), f)
        oidc_config = os.path.join(work, "schemathesis-oidc.toml")
        with open(oidc_config, "w", encoding="utf-8") as f:
            f.write(OIDC_CONFIG.format(ca=ca))
        oidc_env = dict(env, KODEKORT_CLIENT_ID=client_id, KODEKORT_CLIENT_SECRET=client_secret,
                        KODEKORT_ACCESS_TOKEN=access_token)
        cmd = [st, "--no-color", "--config-file", oidc_config, "run", oidc_schema, "--url", issuer,
               "--checks", "all", "--max-examples", EXAMPLES, "--seed", SEED, "--continue-on-failure"]
        print("schemathesis_run:", " ".join(cmd), flush=True)
        run = subprocess.run(cmd, env=oidc_env, cwd=work, timeout=900)
        return status or run.returncode
    finally:
        serve.terminate()
        serve.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
