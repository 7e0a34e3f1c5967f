"""Salesforce's Composite resource: several writes in one call and one transaction (allOrNone).

A chat's closure writes the contact and its transcript Task together, the Task referring to the
new contact as `@{contact.id}`; either both exist afterwards or neither does, which is what lets
a retry after an unknown outcome look for the Task alone. The top level answers 200 even when a
subrequest failed, so each subrequest's status is read here and the first real failure (not the
PROCESSING_HALTED of the rolled-back others) becomes a `CrmError` naming its subrequest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from .client import SalesforceClient, map_error
from .errors import CrmError

HALTED = "PROCESSING_HALTED"


@dataclass(frozen=True)
class SubRequest:
    ref: str  # referenceId: letters, digits and underscores
    method: str  # POST | PATCH
    path: str  # below /services/data/vNN.N/, e.g. sobjects/Contact
    body: dict | None  # None for a GET
    # a subrequest's own headers (Sforce-Duplicate-Rule-Header, Sforce-Auto-Assign): it inherits only Accept,
    # Authorization and Content-Type from the composite request (Salesforce's "Composite Subrequest" reference)
    headers: dict[str, str] | None = None


def run(client: SalesforceClient, subrequests: list[SubRequest], what: str) -> dict[str, Any]:
    """One allOrNone composite call; the body of each subrequest by its ref (None for a 204)."""
    version = client.settings.api_version
    payload = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": s.method, "url": f"/services/data/v{version}/{s.path}", "referenceId": s.ref}
            | ({"body": s.body} if s.body is not None else {})
            | ({"httpHeaders": s.headers} if s.headers else {})
            for s in subrequests
        ],
    }
    answer = client.call(what, lambda sf: sf.restful("composite", method="POST", json=payload))
    results: dict[str, Any] = {}
    failures: list[tuple[str, int, Any]] = []
    for entry in (answer or {}).get("compositeResponse") or []:
        status, ref, body = int(entry.get("httpStatusCode") or 0), str(entry.get("referenceId")), entry.get("body")
        if 200 <= status < 300:
            results[ref] = body
        else:
            failures.append((ref, status, body))
    real = next((f for f in failures if _code(f[2]) != HALTED), failures[0] if failures else None)
    if real is not None:
        raise _error(real, what)
    missing = [s.ref for s in subrequests if s.ref not in results]
    if missing:
        raise CrmError(
            "Salesforce answered without saying what it saved.",
            "BAD_COMPOSITE_ANSWER",
            f"{what}: no result for {missing}",
        )
    return results


def _code(body: Any) -> str:
    return str(body[0].get("errorCode") or "") if isinstance(body, list) and body and isinstance(body[0], dict) else ""


def _error(failure: tuple[str, int, Any], what: str) -> CrmError:
    ref, status, body = failure
    cls = SalesforceGeneralError if status >= 500 else SalesforceMalformedRequest
    error = map_error(cls("composite", status, ref, body), f"{what} ({ref})")
    error.ref = ref
    return error
