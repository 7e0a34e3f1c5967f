"""OAuth 2.0 JWT bearer flow: sign an assertion with the Connected App's key, trade it for an
access token, reuse the token for SESSION_TIMEOUT_MINUTES, and mint once more when Salesforce
says the session is gone. Concurrent callers share one mint. The key, the assertion and the
token never appear in an exception, a log line or a repr.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests
from cachetools import TTLCache

from .errors import CrmAuthError, CrmConfigError, CrmUnavailable
from .http import SalesforceSession
from .settings import SalesforceSettings

log = logging.getLogger(__name__)

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 180  # Salesforce accepts at most about three minutes

# (error, error_description) -> what the admin must fix. Descriptions as Salesforce sends them.
HINTS = {
    (
        "invalid_grant",
        "user hasn't approved this consumer",
    ): "Salesforce refused the integration user: pre-authorise the user's profile or permission set in the Connected App "
    "(Manage > Edit Policies > Permitted Users: Admin approved users are pre-authorized) and check USERNAME.",
    (
        "invalid_grant",
        "audience is invalid",
    ): "Salesforce rejected the JWT audience: check AUDIENCE (https://login.salesforce.com for production, "
    "https://test.salesforce.com for sandboxes, or your My Domain URL).",
    (
        "invalid_grant",
        "invalid assertion",
    ): "Salesforce could not verify the JWT: the certificate uploaded to the Connected App must match the key in "
    "PRIVATE_KEY_FILE and must not have expired.",
    (
        "invalid_grant",
        "expired authorization code",
    ): "Salesforce says the JWT has expired: the bot machine's clock is off; synchronise it (NTP).",
    (
        "invalid_grant",
        "inactive user",
    ): "The Salesforce integration user is deactivated: reactivate it or set USERNAME to an active user.",
    (
        "invalid_client_id",
        None,
    ): "Salesforce does not know this consumer key: check CONSUMER_KEY (Connected App > Manage Consumer Details).",
    (
        "invalid_app_access",
        None,
    ): "The integration user may not use the Connected App: add the user's profile or permission set to the app.",
    (
        "unsupported_grant_type",
        None,
    ): "AUTH_URL does not accept the JWT bearer flow: it must end in /services/oauth2/token.",
}


def hint_for(error: str, description: str) -> str:
    return (
        HINTS.get((error, description))
        or HINTS.get((error, None))
        or (
            f"Salesforce refused the login ({error}: {description}); check CONSUMER_KEY, USERNAME, AUDIENCE and the certificate."
        )
    )


@dataclass(frozen=True)
class AccessSession:
    token: str = field(repr=False)
    instance_url: str
    identity_url: str
    minted_at: float

    def __repr__(self) -> str:
        return f"AccessSession(instance_url={self.instance_url!r}, minted_at={self.minted_at:.0f})"


class JwtBearerAuth:
    def __init__(self, settings: SalesforceSettings):
        self.settings = settings
        self._cache: TTLCache = TTLCache(maxsize=1, ttl=max(settings.session_timeout_minutes, 1) * 60)
        self._lock = threading.Lock()
        self.mints = 0
        self.http = SalesforceSession(settings.verify, settings.timeout_seconds)

    def __repr__(self) -> str:
        return f"JwtBearerAuth(username={self.settings.username!r})"

    @property
    def minted_at(self) -> float | None:
        current = self._cache.get("session")
        return current.minted_at if current else None

    def session(self) -> AccessSession:
        """The cached session, or a new one; one mint at a time."""
        current = self._cache.get("session")
        if current is not None:
            return current
        with self._lock:
            current = self._cache.get("session")
            if current is None:
                current = self._mint()
                self._cache["session"] = current
            return current

    def invalidate(self, stale: AccessSession | None = None) -> None:
        """Forget the session (only if it is still the stale one: a concurrent caller may have re-minted)."""
        with self._lock:
            current = self._cache.get("session")
            if current is not None and (stale is None or current.token == stale.token):
                self._cache.pop("session", None)

    def _assertion(self) -> str:
        s = self.settings
        missing = [
            name
            for name, value in (
                ("CONSUMER_KEY", s.consumer_key),
                ("USERNAME", s.username),
                ("AUTH_URL", s.auth_url),
                ("AUDIENCE", s.audience),
            )
            if not value
        ]
        if missing:
            raise CrmConfigError(
                f"Salesforce is not configured yet: set {', '.join(missing)} (see !salesforce status).",
                "NOT_CONFIGURED",
            )
        if not s.key_path:
            raise CrmConfigError(
                "Salesforce is not configured yet: set PRIVATE_KEY_FILE or SALESFORCE_PRIVATE_KEY_FILE to the Connected App's key file.",
                "NOT_CONFIGURED",
            )
        try:
            key = Path(s.key_path).read_bytes()
        except OSError as exc:
            raise CrmConfigError(
                f"The Salesforce key file {s.key_path} cannot be read ({exc.strerror}): check PRIVATE_KEY_FILE and its permissions.",
                "KEY_FILE",
            ) from None
        claims = {
            "iss": s.consumer_key,
            "sub": s.username,
            "aud": s.audience,
            "exp": int(time.time()) + ASSERTION_LIFETIME,
        }
        try:
            return jwt.encode(claims, key, algorithm="RS256")
        except Exception:  # noqa: BLE001 - any parse failure of the key; its text may quote the key
            raise CrmConfigError(
                f"The file {s.key_path} does not hold a usable RSA private key in PEM format: check PRIVATE_KEY_FILE.",
                "KEY_FILE",
            ) from None

    def _mint(self) -> AccessSession:
        assertion = self._assertion()
        url = self.settings.auth_url
        bundle = self.settings.ca_bundle
        if bundle and not (os.path.isfile(bundle) and os.access(bundle, os.R_OK)):
            raise CrmConfigError(
                f"CA_BUNDLE names {bundle}, which {'cannot be read' if os.path.exists(bundle) else 'does not exist'}: "
                "point CA_BUNDLE at a readable PEM certificate bundle, or leave it empty for the system's.",
                "CA_BUNDLE",
            )
        try:
            resp = self.http.post(url, data={"grant_type": JWT_GRANT, "assertion": assertion})
        except requests.exceptions.SSLError:
            raise CrmConfigError(
                f"The TLS certificate of {url} is not trusted: check CA_BUNDLE (empty means the system's certificates).",
                "TLS",
            ) from None
        except requests.exceptions.Timeout:
            raise CrmUnavailable(
                "Salesforce did not answer the login in time; I'll try again.", "TIMEOUT", f"timeout posting to {url}"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise CrmUnavailable(
                "Salesforce cannot be reached right now; I'll try again.",
                "CONNECTION",
                f"{type(exc).__name__} posting to {url}",
            ) from None
        self.mints += 1
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 500:
            raise CrmUnavailable(
                "Salesforce is unavailable right now; I'll try again.",
                f"HTTP_{resp.status_code}",
                f"login answered HTTP {resp.status_code}",
            )
        if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            if isinstance(body, dict) and "error" in body:
                error, description = str(body.get("error")), str(body.get("error_description") or "")
                message = hint_for(error, description)
                log.error("Salesforce login refused: %s: %s", error, description)
                raise CrmAuthError(message, error, f"{error}: {description}")
            raise CrmConfigError(
                f"{url} did not answer like a Salesforce token endpoint (HTTP {resp.status_code}): check AUTH_URL.",
                "AUTH_URL",
            )
        log.info("Minted a Salesforce session for %s on %s", self.settings.username, body.get("instance_url"))
        return AccessSession(body["access_token"], body["instance_url"].rstrip("/"), body.get("id", ""), time.time())
