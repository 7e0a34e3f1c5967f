"""Rocket.Chat REST client: auth headers, timeouts, 429 back-off, typed errors.

Only documented `/api/v1/` endpoints are called (README lists them). A 429 is waited out using
`X-RateLimit-Reset` (epoch milliseconds; Rocket.Chat sends no `Retry-After`). One
`requests.Session` per thread, because plugins send from pollers and workers as well.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
MAX_RATE_LIMIT_WAIT = 65.0
MAX_TRANSIENT_RETRIES = 3


class RestError(Exception):
    """A Rocket.Chat REST failure; `status` and the server's `error` text, never the auth headers."""

    def __init__(self, status: int, error: str, endpoint: str, error_type: str = ""):
        super().__init__(f"{endpoint}: HTTP {status}: {error}")
        self.status = status
        self.error = error
        self.endpoint = endpoint
        self.error_type = error_type  # the server's `errorType` (e.g. error-message-already-exists), when given


class AuthenticationError(RestError):
    """401: credentials refused or token no longer valid."""


class PermissionDenied(RestError):
    """403: the bot user lacks a permission."""


class RestClient:
    """Thin client for `{server}/api/v1/…` that remembers the session credentials."""

    def __init__(self, server_url: str, timeout: float = DEFAULT_TIMEOUT):
        self.base = server_url.rstrip("/") + "/api/v1/"
        self.timeout = timeout
        self.user_id: str | None = None
        self.auth_token: str | None = None
        self._local = threading.local()
        self.calls = 0  # requests made, for benchmarks
        # asked before every request but a GET (raises to refuse): a bot that lost its leadership sends nothing
        self.gate: Callable[[str], None] | None = None

    def __repr__(self) -> str:  # never show the token
        return f"RestClient({self.base!r}, user_id={self.user_id!r})"

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def set_credentials(self, user_id: str, auth_token: str) -> None:
        self.user_id, self.auth_token = user_id, auth_token

    def login(self, username: str, password: str) -> dict:
        """`POST login`; returns `data` (authToken, userId, me)."""
        body = self.post("login", {"user": username, "password": password}, auth=False)
        data = body["data"]
        self.set_credentials(data["userId"], data["authToken"])
        return data

    def get(self, endpoint: str, params: dict | None = None, **kw: Any) -> dict:
        return self.request("GET", endpoint, params=params, **kw)

    def post(self, endpoint: str, payload: dict | None = None, **kw: Any) -> dict:
        return self.request("POST", endpoint, json=payload or {}, **kw)

    def request(
        self,
        method: str,
        endpoint: str,
        params: dict | None = None,
        json: dict | None = None,
        auth: bool = True,
        retry_transient: bool = False,
    ) -> dict:
        """One call, waiting out 429s; `retry_transient` also retries 5xx and connection errors
        (only for idempotent calls, e.g. a send with a client-chosen `_id`)."""
        if self.gate is not None and method != "GET":
            self.gate(f"Rocket.Chat {method} {endpoint}")
        headers = {}
        if auth and self.auth_token:
            headers = {"X-Auth-Token": self.auth_token, "X-User-Id": self.user_id or ""}
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            try:
                resp = self._session.request(
                    method, self.base + endpoint, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                if retry_transient and attempt <= MAX_TRANSIENT_RETRIES:
                    log.warning("%s %s failed (%s); retrying", method, endpoint, type(exc).__name__)
                    time.sleep(min(2**attempt, 8) * 0.5)
                    continue
                raise RestError(0, f"connection failed: {type(exc).__name__}", endpoint) from None
            if resp.status_code == 429 and attempt <= MAX_TRANSIENT_RETRIES + 2:
                wait = rate_limit_wait(resp.headers.get("X-RateLimit-Reset"))
                log.warning("Rocket.Chat rate-limited %s %s; waiting %.1f s", method, endpoint, wait)
                time.sleep(wait)
                continue
            if resp.status_code >= 500 and retry_transient and attempt <= MAX_TRANSIENT_RETRIES:
                log.warning("%s %s answered %s; retrying", method, endpoint, resp.status_code)
                time.sleep(min(2**attempt, 8) * 0.5)
                continue
            return self._decode(resp, endpoint)

    @staticmethod
    def _decode(resp: requests.Response, endpoint: str) -> dict:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code < 400 and (not isinstance(body, dict) or body.get("success", True) is not False):
            return body if isinstance(body, dict) else {"result": body}
        error, error_type = "", ""
        if isinstance(body, dict):
            error = str(body.get("error") or body.get("message") or "")
            error_type = str(body.get("errorType") or "")
        error = error or resp.reason or "error"
        if resp.status_code == 401:
            raise AuthenticationError(401, error, endpoint)
        if resp.status_code == 403:
            raise PermissionDenied(403, error, endpoint)
        raise RestError(resp.status_code, error, endpoint, error_type)


def rate_limit_wait(reset_header: str | None, now_ms: float | None = None) -> float:
    """Seconds until `X-RateLimit-Reset` (epoch ms), bounded; 1 s when the header is unusable."""
    now_ms = time.time() * 1000 if now_ms is None else now_ms
    try:
        reset_ms = float(reset_header)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0
    return max(0.05, min((reset_ms - now_ms) / 1000.0 + 0.05, MAX_RATE_LIMIT_WAIT))
