"""simple-salesforce on a session minted by `JwtBearerAuth`, with one transparent re-mint on
INVALID_SESSION_ID and every failure mapped to a `CrmError` (simple-salesforce's own exception
texts carry URLs, queries and data, so they never travel further than this module)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from .auth import AccessSession, JwtBearerAuth
from .errors import CrmConfigError, CrmError, CrmLimitExceeded, CrmNotFound, CrmUnavailable, CrmValidationError
from .settings import SalesforceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

FRIENDLY = {
    "REQUIRED_FIELD_MISSING": "Salesforce needs more fields: {fields}.",
    "STRING_TOO_LONG": "A value is too long for Salesforce ({fields}).",
    "INVALID_EMAIL_ADDRESS": "Salesforce does not accept that email address.",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "Salesforce does not accept that choice for {fields}.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A Salesforce validation rule refused the record: {message}",
    "DUPLICATES_DETECTED": "Salesforce's duplicate rules refused the record: a matching record exists.",
    "INVALID_CROSS_REFERENCE_KEY": "A linked Salesforce record no longer exists.",
    "ENTITY_IS_DELETED": "A linked Salesforce record was deleted (or merged into another) meanwhile.",
    "MALFORMED_ID": "That is not a valid Salesforce record id.",
    "INVALID_FIELD": "Salesforce does not know a field this integration uses; the admin can see which in the log.",
    "MALFORMED_QUERY": "Salesforce could not read a query this integration made; the admin can see details in the log.",
    "INSUFFICIENT_ACCESS": "The integration user lacks permission for this in Salesforce.",
    "INSUFFICIENT_ACCESS_OR_READONLY": "The integration user lacks permission for this in Salesforce.",
    "API_DISABLED_FOR_ORG": (
        "This Salesforce org does not allow API access: Professional Edition needs Salesforce's API add-on, and "
        "the integration user's profile or permission set needs API Enabled. A Salesforce admin must fix this."
    ),
    "FUNCTIONALITY_NOT_ENABLED": (
        "This Salesforce org's edition lacks a feature the bot used ({message}); a Salesforce admin can tell "
        "which from `!salesforce check`."
    ),
}


def _first_error(content: Any) -> dict:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    return {}


def duplicate_matches(error: dict) -> list[tuple[str, str]]:
    """(object, Id) of each record a DUPLICATES_DETECTED error names, best match first. Salesforce spells
    the key `duplicateResut` (captured from real orgs, API 54.0 and 56.0); the correct spelling is read too."""
    result = error.get("duplicateResut") or error.get("duplicateResult") or {}
    found: list[tuple[float, str, str]] = []
    for match in result.get("matchResults") or [] if isinstance(result, dict) else []:
        for candidate in match.get("matchRecords") or []:
            record = candidate.get("record") or {}
            kind = str((record.get("attributes") or {}).get("type") or match.get("entityType") or "")
            if record.get("Id") and kind:
                found.append((-float(candidate.get("matchConfidence") or 0), kind, str(record["Id"])))
    return [(kind, record_id) for _, kind, record_id in sorted(found)]


def _endpoint(exc: requests.exceptions.RequestException) -> str:
    """' on GET host/services/data/v59.0/query' (never the query string: it holds SOQL and visitors' data)."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not url:
        return ""
    parts = urlsplit(url)
    return f" on {getattr(request, 'method', None) or 'a request to'} {parts.netloc}{parts.path}"


def map_error(exc: Exception, what: str) -> CrmError:
    """One sentence for people; the admin detail keeps the errorCode and fields, never the URL or query."""
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, requests.exceptions.Timeout):
        return CrmUnavailable(
            "Salesforce did not answer in time; please try again.",
            "TIMEOUT",
            f"{what}: timeout ({type(exc).__name__}){_endpoint(exc)}",
        )
    if isinstance(exc, requests.exceptions.RequestException):
        return CrmUnavailable(
            "Salesforce cannot be reached right now; please try again.",
            "CONNECTION",
            f"{what}: {type(exc).__name__}{_endpoint(exc)}",
        )
    if isinstance(exc, SalesforceError):
        first = _first_error(getattr(exc, "content", None))
        code = str(first.get("errorCode") or f"HTTP_{getattr(exc, 'status', '')}")
        fields = [str(f) for f in first.get("fields") or []]
        detail = f"{what}: HTTP {getattr(exc, 'status', '?')} {code}" + (
            f" fields={','.join(fields)}" if fields else ""
        )
        if code == "REQUEST_LIMIT_EXCEEDED":
            return CrmLimitExceeded(
                "Salesforce's daily API limit for this org is used up; the admins have been told.", code, detail
            )
        if isinstance(exc, SalesforceResourceNotFound) or code == "NOT_FOUND":
            return CrmNotFound("That Salesforce record does not exist (any more).", code, detail)
        if isinstance(exc, (SalesforceMalformedRequest, SalesforceRefusedRequest)):
            template = FRIENDLY.get(code, "Salesforce refused the request ({code}).")
            message = template.format(
                fields=", ".join(fields) or "a field", code=code, message=str(first.get("message", ""))[:200]
            )
            error = CrmValidationError(message, code, detail, fields)
            error.duplicates = duplicate_matches(first)
            return error
        status = getattr(exc, "status", 500)
        if isinstance(status, int) and status >= 500:
            return CrmUnavailable("Salesforce had an internal problem; please try again shortly.", code, detail)
        return CrmError("Salesforce refused the request.", code, detail)
    return CrmError(
        "Something went wrong talking to Salesforce; the admins can see details in the log.",
        "UNEXPECTED",
        f"{what}: {type(exc).__name__}",
    )


class SalesforceClient:
    def __init__(self, settings: SalesforceSettings, auth: JwtBearerAuth | None = None):
        self.settings = settings
        self.auth = auth or JwtBearerAuth(settings)
        self._local = threading.local()
        self.last_error: CrmError | None = None
        # told after each call: None when Salesforce answered (a refusal is an answer), else the CrmError
        self.outcome_listeners: list[Callable[[CrmError | None], None]] = []
        self._limits_refused = False

    def __repr__(self) -> str:
        return f"SalesforceClient(username={self.settings.username!r})"

    @property
    def http(self):
        return self.auth.http

    @property
    def api_usage(self) -> tuple[int, int] | None:
        return self.auth.http.api_usage

    @property
    def instance_url(self) -> str:
        return self.auth.session().instance_url

    def _sf(self, access: AccessSession) -> Salesforce:
        cached = getattr(self._local, "sf", None)
        if cached is not None and cached[0] == access.token:
            return cached[1]
        sf = Salesforce(
            instance_url=access.instance_url,
            session_id=access.token,
            version=self.settings.api_version,
            session=self.auth.http,
        )
        self._local.sf = (access.token, sf)
        return sf

    def call(self, what: str, fn: Callable[[Salesforce], T]) -> T:
        """Run `fn(sf)`; on an expired session mint once more and retry once."""
        try:
            access = self.auth.session()
            try:
                result = fn(self._sf(access))
            except SalesforceExpiredSession:
                log.info("Salesforce session expired during %s; minting a new one", what)
                self.auth.invalidate(access)
                result = fn(self._sf(self.auth.session()))
        except Exception as exc:  # noqa: BLE001 - everything leaves as a CrmError
            error = map_error(exc, what)
            self.last_error = error
            self._tell(error)
            # a network failure is the caller's one warning (it knows when it tries again); a refusal is logged here
            level = logging.INFO if isinstance(error, CrmUnavailable) else logging.WARNING
            log.log(level, "Salesforce %s failed: %s", what, error.admin_detail)
            raise error from None
        self._tell(None)
        return result

    def _tell(self, error: CrmError | None) -> None:
        if isinstance(error, CrmConfigError):
            return  # never left the bot (no key, no CA bundle): says nothing about Salesforce
        for listener in list(self.outcome_listeners):
            try:
                listener(error)
            except Exception:  # noqa: BLE001 - a listener's bug must not fail the Salesforce call
                log.exception("A Salesforce outcome listener failed")

    def read_usage(self) -> tuple[int, int] | None:
        """The org's API usage now, (used, limit), for one API call: the Limits resource's DailyApiRequests
        (`GET …/limits/`; its own Sforce-Limit-Info says the same), or, where the integration user may not
        read it (it needs *View Setup and Configuration*), the header of the resources list (`GET …/vXX.X/`)."""

        def limits(sf: Salesforce) -> tuple[int, int] | None:
            body = sf.limits()
            daily = body.get("DailyApiRequests") if isinstance(body, dict) else None
            if isinstance(daily, dict) and "Max" in daily and "Remaining" in daily:
                limit = int(daily["Max"])
                used = max(limit - int(daily["Remaining"]), 0)
                if self.http.api_usage != (used, limit):
                    self.http.note_usage(used, limit)
                return used, limit
            return self.http.api_usage

        if not self._limits_refused:
            try:
                return self.call("read API usage", limits)
            except CrmLimitExceeded:
                return self.http.api_usage  # the refusal carries Sforce-Limit-Info too
            except (CrmValidationError, CrmNotFound) as exc:
                log.info("The Limits resource is refused (%s); reading API usage from response headers", exc.code)
                self._limits_refused = True
        try:
            self.call("read API usage", lambda sf: sf.restful(""))
        except CrmLimitExceeded:
            pass
        return self.http.api_usage

    def query(self, soql: str, what: str = "query") -> list[dict]:
        return self.call(what, lambda sf: sf.query(soql)["records"])

    def search(self, sosl: str, what: str = "search") -> list[dict]:
        return self.call(what, lambda sf: sf.search(sosl).get("searchRecords", []))

    def identity(self) -> dict:
        """Who the integration user is (the token's `id` URL)."""

        def fetch(sf: Salesforce) -> dict:
            access = self.auth.session()
            resp = self.auth.http.get(access.identity_url, headers={"Authorization": f"Bearer {access.token}"})
            if resp.status_code in (401, 403):
                raise SalesforceExpiredSession(access.identity_url, resp.status_code, "identity", "")
            resp.raise_for_status()
            return resp.json()

        return self.call("identity", fetch)
