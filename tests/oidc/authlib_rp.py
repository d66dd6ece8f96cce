"""A service's web site that logs citizens in with Kodekort, built on authlib
(a relying-party library no one here wrote), for the browser tests.

Run by tests/ui/oidc.test.mjs from the venv that `cargo xtask test` makes:

    python3 authlib_rp.py PORT ISSUER CA_PEM CLIENT_ID CLIENT_SECRET

It serves plain HTTP on 127.0.0.1:PORT (a loopback redirect URI, RFC 8252):

    /            a page with a "Log in with Kodekort" link
    /login       sends the browser to the provider (PKCE S256, state, nonce;
                 ?lang=da|en becomes ui_locales, ?prompt= is passed on)
    /callback    checks state and iss, exchanges the code (client_secret_basic),
                 and validates the ID token with authlib: the signature against
                 the JWKS from discovery, iss, aud, exp, iat, nonce and at_hash;
                 then asks userinfo and shows who logged in
    /logout      RP-initiated logout with the ID token as hint

Every refusal is shown on the page as "RP error: ..." with status 400, so the
browser test sees what the library said.
"""

import html
import json
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

PORT, ISSUER, CA_PEM, CLIENT_ID, CLIENT_SECRET = sys.argv[1:6]
BASE = f"http://127.0.0.1:{PORT}"
REDIRECT_URI = f"{BASE}/callback"

# Discovery, once: every endpoint comes from it.
METADATA = requests.get(f"{ISSUER}/.well-known/openid-configuration", verify=CA_PEM, timeout=10).json()
assert METADATA["issuer"] == ISSUER, METADATA["issuer"]

PENDING = {}  # state -> (nonce, code_verifier)
ID_TOKENS = []  # the last ID token, for logout
LOCK = threading.Lock()


def session():
    client = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="openid profile",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    # Trust exactly the provider's CA; without trust_env, requests would let
    # REQUESTS_CA_BUNDLE from the environment override it.
    client.trust_env = False
    client.verify = CA_PEM
    return client


def validated_id_token(id_token, nonce, access_token):
    keys = JsonWebKey.import_key_set(requests.get(METADATA["jwks_uri"], verify=CA_PEM, timeout=10).json())
    claims = jwt.decode(
        id_token,
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": ISSUER},
            "aud": {"essential": True, "value": CLIENT_ID},
        },
        claims_params={"nonce": nonce, "client_id": CLIENT_ID, "access_token": access_token},
    )
    claims.validate(leeway=5)
    if "at_hash" not in claims:
        raise ValueError("no at_hash")
    return claims


def page(title, body, lang="en"):
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, location=None):
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            if url.path == "/":
                self.send(200, page("Skattestyrelsen", '<p><a href="/login">Log in with Kodekort</a></p>'))
            elif url.path == "/login":
                self.login(query)
            elif url.path == "/callback":
                self.callback(query)
            elif url.path == "/logout":
                self.logout()
            elif url.path == "/logged-out":
                self.send(200, page("Logged out of Skattestyrelsen", f"<p>state={html.escape(query.get('state', ''))}</p>"))
            else:
                self.send(404, page("Not found", ""))
        except Exception as error:  # what the library refused, for the test to read
            self.send(400, page("RP error", f'<p id="rp-error">RP error: {html.escape(repr(error))}</p>'))

    def login(self, query):
        nonce = secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        extra = {"nonce": nonce, "code_verifier": verifier, "ui_locales": query.get("lang", "da")}
        if "prompt" in query:
            extra["prompt"] = query["prompt"]
        uri, state = session().create_authorization_url(METADATA["authorization_endpoint"], **extra)
        with LOCK:
            PENDING[state] = (nonce, verifier)
        self.send(302, "", location=uri)

    def callback(self, query):
        state = query.get("state", "")
        with LOCK:
            nonce, verifier = PENDING.pop(state)
        if query.get("iss") != ISSUER:
            raise ValueError(f"iss {query.get('iss')!r} is not the issuer")
        if "error" in query:
            self.send(200, page("Not logged in", f'<p id="oauth-error">{html.escape(query["error"])}</p>'))
            return
        client = session()
        token = client.fetch_token(
            METADATA["token_endpoint"],
            authorization_response=f"{REDIRECT_URI}?{urllib.parse.urlencode(query)}",
            code_verifier=verifier,
            state=state,
        )
        claims = validated_id_token(token["id_token"], nonce, token["access_token"])
        userinfo = client.get(METADATA["userinfo_endpoint"]).json()
        if userinfo["sub"] != claims["sub"]:
            raise ValueError("userinfo names another citizen")
        with LOCK:
            ID_TOKENS[:] = [token["id_token"]]
        facts = {key: claims.get(key) for key in ("sub", "name", "acr", "amr", "auth_time")}
        self.send(
            200,
            page(
                f"Logged in to Skattestyrelsen as {claims['name']}",
                f'<pre id="claims">{html.escape(json.dumps(facts))}</pre><p><a href="/logout">Log out</a></p>',
            ),
        )

    def logout(self):
        with LOCK:
            hint = ID_TOKENS[0]
        params = {"id_token_hint": hint, "post_logout_redirect_uri": f"{BASE}/logged-out", "state": "bye"}
        self.send(302, "", location=f"{METADATA['end_session_endpoint']}?{urllib.parse.urlencode(params)}")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler)
    print(f"rp listening on {BASE}", flush=True)
    server.serve_forever()
