"""The OAuth 2.0 JWT bearer token endpoint: checks as Salesforce does, answers as it documents.

Sources: Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration" (claims,
3-minute `exp`, success body without refresh token) and the error pairs users meet (`invalid_grant`
with "invalid assertion", "audience is invalid", "expired authorization code", "user hasn't
approved this consumer", "inactive user"; `invalid_client_id`; `unsupported_grant_type`). An
unknown username answers like a user who is not pre-authorised: Salesforce does not reveal
whether a username exists.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import jwt
from cryptography import x509

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_EXP_AHEAD = 5 * 60  # Salesforce asks for 3 minutes and allows some clock skew


@dataclass
class User:
    username: str
    user_id: str
    preauthorized: bool = True
    active: bool = True
    app_access: bool = True


class OAuthError(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Session:
    token: str
    username: str
    user_id: str
    issued: float
    last_used: float


@dataclass
class TokenIssuer:
    consumer_key: str
    certificate_pem: bytes
    audiences: set[str]
    users: dict[str, User] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._public_key = x509.load_pem_x509_certificate(self.certificate_pem).public_key()

    def verify(self, form: dict[str, str]) -> User:
        if form.get("grant_type") != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        assertion = form.get("assertion") or ""
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "invalid assertion")
        if unverified.get("iss") != self.consumer_key:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        try:
            jwt.decode(
                assertion, self._public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False}
            )
        except jwt.PyJWTError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        aud = unverified.get("aud")
        if not any(isinstance(a, str) and a in self.audiences for a in (aud if isinstance(aud, list) else [aud])):
            raise OAuthError("invalid_grant", "audience is invalid")
        exp = unverified.get("exp")
        if (
            isinstance(exp, str) and exp.strip().isdigit()
        ):  # simple-salesforce sends it as text; Salesforce accepts that
            exp = int(exp)
        now = time.time()
        if not isinstance(exp, (int, float)) or exp <= now:
            raise OAuthError("invalid_grant", "expired authorization code")
        if exp > now + MAX_EXP_AHEAD:
            raise OAuthError("invalid_grant", "invalid assertion")
        user = self.users.get(str(unverified.get("sub") or ""))
        if user is None or not user.preauthorized:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        if not user.active:
            raise OAuthError("invalid_grant", "inactive user")
        if not user.app_access:
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
        return user


def new_access_token(org_id: str) -> str:
    """Shaped like Salesforce's: the org id, '!', then an opaque part."""
    return f"{org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
