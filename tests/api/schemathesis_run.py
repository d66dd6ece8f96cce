#!/usr/bin/env python3
"""Schemathesis against the real backend, bounded: `cargo xtask test` runs it.

    python3 tests/api/schemathesis_run.py SCHEMATHESIS_BIN KODEKORT_SERVER_BIN

A fresh data dir with one citizen, one provider and a pending document; the
server on a free loopback port; a session by the real login (password, then
the card's code). Then `st run --checks all` on the server's own OpenAPI
document, with a fixed seed and a fixed number of examples per operation.
`POST /logout` ends the session that the other operations use, so it runs
last, alone. Exit status: Schemathesis's (0 when nothing was found).
"""

import json
import os
import ssl
import subprocess
import sys
import tempfile
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
        return status
    finally:
        serve.terminate()
        serve.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
