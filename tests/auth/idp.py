"""A minimal OpenID Connect provider (authorization code flow) for the sign-in tests.

It serves discovery, authorize, token and JWKS on loopback, signs ID tokens with a
fresh RSA key, and puts the test's `claims` into every ID token.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "assistant-test"
CLIENT_SECRET = "idp-client-secret-0123456789"
KEY_ID = "test-key"


class FakeIdentityProvider:
    def __init__(self) -> None:
        self.issuer = ""
        self.claims: dict[str, Any] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
        self._codes: dict[str, dict[str, Any]] = {}
        self.app = self._build_app()

    def _id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "sub": "subject-1", **self.claims}
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, self.key)

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }

        @app.get("/authorize")
        def authorize(redirect_uri: str, state: str, client_id: str, nonce: str | None = None) -> RedirectResponse:
            assert client_id == CLIENT_ID
            code = secrets.token_urlsafe(16)
            self._codes[code] = {"nonce": nonce}
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

        @app.post("/token")
        async def token(request: Request, code: str = Form(...)) -> JSONResponse:
            grant = self._codes.pop(code, None)
            if grant is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            body = {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(grant["nonce"]),
            }
            return JSONResponse(body)

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return {"keys": [{**self.key.as_dict(private=False), "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

        return app
