"""A small but real OpenID Connect provider on loopback, for single sign-on tests.

It speaks the authorization code flow over HTTP like a regional or national identity provider would:
discovery, authorize (with PKCE), token (client secret by POST or HTTP Basic), userinfo and JWKS, and signs
ID tokens with its own RSA key (PyJWT). Nothing in the portal knows it is a test double: allauth finds it
through the issuer URL, exactly as it would find the real one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@dataclass
class LoopbackOIDCProvider:
    client_id: str = "shared-care-record"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # Who is signed in at the identity provider: the claims it will assert. None: nobody.
    user: dict | None = None
    deny: bool = False  # the user presses "Cancel" at the identity provider
    requests: list[str] = field(default_factory=list)
    issuer: str = ""

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(4)
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._server: ThreadingHTTPServer | None = None

    # Running
    def start(self) -> LoopbackOIDCProvider:
        provider = self

        class Handler(_Handler):
            oidc = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def socialaccount_settings(self, name: str = "Test Care Identity") -> dict:
        """SOCIALACCOUNT_PROVIDERS as dcr/settings/base.py builds it from DCR_OIDC_* for this provider."""
        return {
            "openid_connect": {
                "OAUTH_PKCE_ENABLED": True,
                "APPS": [
                    {
                        "provider_id": "idp",
                        "name": name,
                        "client_id": self.client_id,
                        "secret": self.client_secret,
                        "settings": {"server_url": self.issuer, "scope": ["openid", "profile", "email"]},
                    }
                ],
            }
        }

    # The protocol
    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "given_name", "family_name"],
        }

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self._kid, "use": "sig", "alg": "RS256"}]}

    def public_key(self):
        return self._key.public_key()

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri:
            return 400, {}, b"unknown client"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return _redirect(redirect_uri, error="invalid_request", state=query.get("state"))
        if self.deny or self.user is None:
            return _redirect(redirect_uri, error="access_denied", state=query.get("state"))
        if query.get("code_challenge_method", "S256") != "S256" or not query.get("code_challenge"):
            return _redirect(redirect_uri, error="invalid_request", state=query.get("state"))
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "redirect_uri": redirect_uri,
            "challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
            "claims": dict(self.user),
            "expires": time.time() + 60,
        }
        return _redirect(redirect_uri, code=code, state=query.get("state"))

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return 401, {"error": "invalid_client"}
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant["expires"] < time.time()
            or grant["redirect_uri"] != form.get("redirect_uri")
        ):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = grant["claims"]
        now = int(time.time())
        id_claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            **grant["claims"],
        }
        if grant["nonce"]:
            id_claims["nonce"] = grant["nonce"]
        id_token = jwt.encode(id_claims, self._key, algorithm="RS256", headers={"kid": self._kid})
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        claims = self._tokens.get(authorization.removeprefix("Bearer ").strip())
        if claims is None:
            return 401, {"error": "invalid_token"}
        return 200, claims


def _redirect(uri: str, **params) -> tuple[int, dict[str, str], bytes]:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return 302, {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"}, b""


class _Handler(BaseHTTPRequestHandler):
    oidc: LoopbackOIDCProvider

    def log_message(self, format, *args) -> None:  # quiet: the test output is for the tests
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.oidc.requests.append(f"GET {url.path}")
        if url.path == "/.well-known/openid-configuration":
            self._json(200, self.oidc.discovery())
        elif url.path == "/jwks":
            self._json(200, self.oidc.jwks())
        elif url.path == "/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, headers, body = self.oidc.authorize(query)
            self._send(status, body, "text/plain", headers)
        elif url.path == "/userinfo":
            self._json(*self.oidc.userinfo(self.headers.get("Authorization", "")))
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        self.oidc.requests.append(f"POST {url.path}")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if url.path == "/token":
            self._json(*self.oidc.token(form, self.headers.get("Authorization", "")))
        else:
            self._send(404, b"not found", "text/plain")
