"""The simulated org's HTTP surface: OAuth token, identity, and REST `/services/data/vNN.N/`.

Shapes follow the REST API Developer Guide: error arrays `[{"message", "errorCode", "fields"}]`,
`Sforce-Limit-Info: api-usage=N/LIMIT` on every REST answer (not on the versions list), 401
INVALID_SESSION_ID once a session outlives its timeout counted from its last use, 403
REQUEST_LIMIT_EXCEEDED at the daily allocation, query batches of 2000 with `nextRecordsUrl`.

The `no-api` profile is an org without API access (Professional Edition without the API add-on, or a
user without "API Enabled"): the token is still minted and the identity URL answers ("The API call reached
Salesforce, the credentials authenticated, and then the permission check rejected the request",
salesforcedictionary.com "API_DISABLED_FOR_ORG"), and every REST resource answers 403
`[{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}]`
(restforce/restforce#219, docs.sequin.io "Enable Salesforce API Access"; 403 per salesforce-api.md §2.9),
counted as no API call.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulators.salesforce import composite as sf_composite
from simulators.salesforce import content, recordtypes, uiapi
from simulators.salesforce import hold as sf_hold
from simulators.salesforce import soql as sf_soql
from simulators.salesforce import sosl as sf_sosl
from simulators.salesforce.caller import Caller
from simulators.salesforce.oauth import OAuthError, Session, TokenIssuer, new_access_token
from simulators.salesforce.profiles import ProfileState
from simulators.salesforce.saving import Writer
from simulators.salesforce.schema import NOT_INSERTABLE, SETUP_OBJECTS, Describe
from simulators.salesforce.store import SfError, Store

BATCH = 2000
VERSIONS = [
    (f"{v}.0", label)
    for v, label in (
        (57, "Spring '23"),
        (58, "Summer '23"),
        (59, "Winter '24"),
        (60, "Spring '24"),
        (61, "Summer '24"),
        (62, "Winter '25"),
        (63, "Spring '25"),
        (64, "Summer '25"),
        (65, "Winter '26"),
        (66, "Spring '26"),
        (67, "Summer '26"),
    )
]
SUPPORTED = {v for v, _ in VERSIONS} | {f"{v}.0" for v in range(31, 57)}
DEFAULT_LIMIT = 15000


@dataclass
class Fault:
    status: int | None
    until: float | None
    remaining: int | None
    delay: float
    routes: set[str] | None

    def applies(self, route: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        return not self.routes or route in self.routes


@dataclass
class Org:
    """Everything the simulator knows: records, users, sessions, usage, faults and call counts."""

    issuer: TokenIssuer
    base_url: str
    session_timeout: float
    store: Store = field(default_factory=Store)
    sessions: dict[str, Session] = field(default_factory=dict)
    calls: collections.Counter = field(default_factory=collections.Counter)
    faults: list[Fault] = field(default_factory=list)
    api_used: int = 0
    api_limit: int = DEFAULT_LIMIT
    search_index_lag: float = 0.0
    locators: dict[str, tuple[list[dict], int]] = field(default_factory=dict)
    holds: sf_hold.Holds = field(default_factory=lambda: sf_hold.Holds())
    profiles: ProfileState = field(default_factory=ProfileState)  # the org customisations that are on
    username: str = "integration@example.com"  # the integration user's
    _locator_ids: Any = field(default_factory=lambda: itertools.count(1))

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_limit}"}

    def writer(self, session: Session, version: str, headers: Any = None) -> Writer:
        """Reads and writes as SESSION's user, with the save options of HEADERS (none: defaults)."""
        caller = Caller(session.user_id, session.user_id[:15] == self.store.user_id[:15], version)
        return Writer(self.store, self.profiles.active, caller.with_headers(headers or {}))


def sf_json(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", charset="UTF-8", headers=headers
    )


def sf_error(err: SfError, headers: dict | None = None) -> web.Response:
    return sf_json(err.body(), err.status, headers)


async def apply_faults(org: Org, route: str) -> web.Response | None:
    now = time.time()
    for fault in list(org.faults):
        if not fault.applies(route, now):
            continue
        if fault.remaining is not None:
            fault.remaining -= 1
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status:
            if fault.status == 503:
                body = [
                    {
                        "message": "Server is temporarily unavailable. Try again later.",
                        "errorCode": "SERVER_UNAVAILABLE",
                    }
                ]
            else:
                body = [
                    {
                        "message": f"An unexpected error occurred. Please include this ErrorId if you contact support: {secrets.randbelow(10**9)}-{secrets.randbelow(10**5)} (-{secrets.randbelow(10**9)})",
                        "errorCode": "UNKNOWN_EXCEPTION",
                    }
                ]
            return sf_json(body, fault.status)
    return None


# -- OAuth and identity -----------------------------------------------------------------
async def token(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    org.calls["POST oauth2/token"] += 1
    faulted = await apply_faults(org, "POST oauth2/token")
    if faulted:
        return faulted
    form = dict(await request.post())
    try:
        user = org.issuer.verify({k: str(v) for k, v in form.items()})
    except OAuthError as exc:
        return sf_json(exc.body(), 400)
    access = new_access_token(org.store.org_id)
    now = time.time()
    org.sessions[access] = Session(access, user.username, user.user_id, now, now)
    return sf_json(
        {
            "access_token": access,
            "scope": "api",
            "instance_url": org.base_url,
            "id": f"{org.base_url}/id/{org.store.org_id}/{user.user_id}",
            "token_type": "Bearer",
        }
    )


def authenticate(request: web.Request) -> Session | None:
    org: Org = request.app["org"]
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(("bearer ", "oauth ")):
        return None
    session = org.sessions.get(header.split(" ", 1)[1].strip())
    if session is None:
        return None
    now = time.time()
    if now - session.last_used > org.session_timeout:
        org.sessions.pop(session.token, None)
        return None
    session.last_used = now
    return session


INVALID_SESSION = SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")


async def identity(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    org.calls["GET id"] += 1
    session = authenticate(request)
    if session is None:
        return web.Response(text="Bad_OAuth_Token", status=403)
    return sf_json(
        {
            "id": f"{org.base_url}/id/{org.store.org_id}/{session.user_id}",
            "user_id": session.user_id,
            "organization_id": org.store.org_id,
            "username": session.username,
            "display_name": (_user_row(org, session.user_id) or {}).get("Name") or "Integration User",
            "email": (_user_row(org, session.user_id) or {}).get("Email")
            or (session.username if "@" in session.username else ""),
            "active": True,
            "user_type": "STANDARD",
            "urls": {
                "rest": f"{org.base_url}/services/data/v{{version}}/",
                "sobjects": f"{org.base_url}/services/data/v{{version}}/sobjects/",
            },
        }
    )


def _user_row(org: Org, user_id: str) -> dict | None:
    found = org.store.find(user_id)
    return found[1] if found and found[0] == "User" else None


async def versions(request: web.Request) -> web.Response:
    request.app["org"].calls["GET versions"] += 1
    return sf_json([{"label": label, "url": f"/services/data/v{v}", "version": v} for v, label in VERSIONS])


# -- REST under /services/data/vNN.N/ ------------------------------------------------------
_ROUTE_ID = re.compile(r"^sobjects/(\w+)/(?!describe$)[^/]+$")
_ROUTE_PICKLISTS = re.compile(r"^ui-api/object-info/(\w+)/picklist-values/[^/]+/?$")
_ROUTE_BLOB = re.compile(r"^sobjects/(\w+)/[^/]+/(\w+)$")
API_DISABLED = SfError(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")


def route_key(method: str, rest: str) -> str:
    if rest.startswith("query/"):
        return f"{method} query"
    m = _ROUTE_PICKLISTS.match(rest)
    if m:
        return f"{method} ui-api/object-info/{m.group(1)}/picklist-values/{{recordTypeId}}"
    m = _ROUTE_ID.match(rest)
    if m:
        return f"{method} sobjects/{m.group(1)}/{{id}}"
    m = _ROUTE_BLOB.match(rest)
    if m and m.group(2) != "describe":
        return f"{method} sobjects/{m.group(1)}/{{id}}/{m.group(2)}"
    return f"{method} {rest.rstrip('/') or 'resources'}"


async def rest_entry(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    version = request.match_info["version"]
    rest = request.match_info["rest"]
    route = route_key(request.method, rest)
    org.calls[route] += 1
    faulted = await apply_faults(org, route)
    if faulted:
        return faulted
    if version not in SUPPORTED:
        return sf_error(SfError(404, "NOT_FOUND", "The requested resource does not exist"))
    session = authenticate(request)
    if session is None:
        return sf_json(
            INVALID_SESSION.body(), 401, {"WWW-Authenticate": 'Token realm="Salesforce", error="invalid_token"'}
        )
    if "no-api" in org.profiles.effective:
        return sf_error(API_DISABLED)
    if org.api_used >= org.api_limit:
        return sf_error(SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), org.limit_header())
    org.api_used += 1
    headers = org.limit_header()
    hold = org.holds.take(route)
    if hold is not None and hold.phase == "trickle":
        return await _trickle(request, org, hold, session, version, rest, headers)
    if hold is not None and hold.phase in ("before", "lost"):
        if not await hold.wait(request) and hold.phase == "lost":
            return web.Response(status=499)  # nobody is listening: the request is dropped unprocessed
    try:
        body, status = await dispatch(request, org, org.writer(session, version, request.headers), rest)
    except SfError as err:
        return sf_error(err, headers)
    if hold is not None and hold.phase == "after":
        await hold.wait(request)
    if isinstance(body, bytes):  # a blob's bytes (sObject Blob Get)
        return web.Response(body=body, status=status, content_type="application/octet-stream", headers=headers)
    if status == 204:
        return web.Response(status=204, headers=headers)
    return sf_json(body, status, headers)


async def _trickle(
    request: web.Request, org: Org, hold: sf_hold._Waiter, session: Session, version: str, rest: str, headers: dict
) -> web.StreamResponse:
    """An answer that never ends until released (hold phase "trickle"); then processed, its body last."""
    response, listening = await hold.trickle(request, headers)
    try:  # processed whether or not anyone still listens, as Salesforce does
        body, _status = await dispatch(request, org, org.writer(session, version, request.headers), rest)
    except SfError as err:
        body = err.body()
    if listening:
        try:
            await response.write(json.dumps(body).encode())
            await response.write_eof()
        except ConnectionError:
            pass
    return response


async def dispatch(request: web.Request, org: Org, writer: Writer, rest: str) -> tuple[Any, int]:
    method, version = request.method, writer.caller.version
    parts = [p for p in rest.split("/") if p]
    if not parts and method == "GET":
        return {
            name: f"/services/data/v{version}/{name}" for name in ("sobjects", "query", "queryAll", "search", "limits")
        }, 200
    head = parts[0] if parts else ""
    if head in ("query", "queryAll") and method == "GET":
        if len(parts) == 2:
            return next_batch(org, parts[1], version), 200
        return run_query(org, writer, request.query.get("q", "")), 200
    if head == "search" and method == "GET":
        records = sf_sosl.search(
            request.query.get("q", ""),
            lambda name: [r for r in indexed(org, name) if writer.visible(name, r)],
            _lookup(org),
            version,
            writer.schema(),
        )
        return {"searchRecords": records}, 200
    if head == "limits" and method == "GET":
        return {"DailyApiRequests": {"Max": org.api_limit, "Remaining": max(org.api_limit - org.api_used, 0)}}, 200
    if head == "sobjects":
        return await sobjects(request, org, writer, parts[1:])
    if head == "composite" and len(parts) == 1:
        if method != "POST":
            raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are POST")
        # a subrequest's save options come from its own httpHeaders, never from the top-level request's
        return sf_composite.run(org.store, await _any_json(request), writer.with_headers), 200
    if head == "ui-api" and method == "GET" and len(parts) == 5 and parts[1:4:2] == ["object-info", "picklist-values"]:
        return uiapi.picklist_values(writer.schema(), _rows(org, "RecordType"), version, parts[2], parts[4]), 200
    raise SfError(404, "NOT_FOUND", "The requested resource does not exist")


def _rows(org: Org, sobject: str) -> list[dict]:
    return list(org.store.records[sobject].values())


def indexed(org: Org, sobject: str) -> list[dict]:
    """What the search index holds: records written more than `search_index_lag` seconds ago
    (Salesforce indexes new and changed records asynchronously; SOQL sees them at once)."""
    horizon = time.time() - org.search_index_lag
    changed = org.store.changed_at
    return [r for r in org.store.records[sobject].values() if changed.get(r["Id"], 0.0) <= horizon]


def _lookup(org: Org):
    def lookup(record_id: str) -> dict | None:
        found = org.store.find(record_id) if record_id else None
        return found[1] if found else None

    return lookup


def run_query(org: Org, writer: Writer, soql: str) -> dict:
    """The query over the records the caller may see, in the fields it may see."""
    version = writer.caller.version
    q = sf_soql.parse(soql, writer.schema())
    visible = [r for r in org.store.records[q.sobject].values() if writer.visible(q.sobject, r)]
    rows = sf_soql.execute(q, visible, _lookup(org))
    if q.count:
        return {"totalSize": len(rows), "done": True, "records": []}
    projected = [sf_soql.project(r, q, _lookup(org), version) for r in rows]
    return page(org, projected, 0, version)


def page(org: Org, projected: list[dict], start: int, version: str) -> dict:
    batch = projected[start : start + BATCH]
    body: dict[str, Any] = {"totalSize": len(projected), "done": start + BATCH >= len(projected), "records": batch}
    if not body["done"]:
        locator = f"01g{next(org._locator_ids):012d}"
        org.locators[locator] = (projected, start + BATCH)
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{start + BATCH}"
    return body


def next_batch(org: Org, locator: str, version: str) -> dict:
    key = locator.split("-", 1)[0]
    if key not in org.locators:
        raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    projected, start = org.locators.pop(key)
    return page(org, projected, start, version)


async def sobjects(request: web.Request, org: Org, writer: Writer, parts: list[str]) -> tuple[Any, int]:
    method, version = request.method, writer.caller.version
    schema = writer.schema()
    if not parts:
        if method != "GET":
            raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET")
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                {
                    "name": n,
                    "label": n,
                    "keyPrefix": Describe(n).body(version)["keyPrefix"],
                    "createable": n not in SETUP_OBJECTS and n not in NOT_INSERTABLE,
                    "queryable": True,
                    "urls": Describe(n).body(version)["urls"],
                }
                for n in schema
            ],
        }, 200
    sobject = next((n for n in schema if n.lower() == parts[0].lower()), None)
    if sobject is None:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    if len(parts) == 1:
        if method == "POST":
            record = writer.create(sobject, await _json_body(request))
            return {"id": record["Id"], "success": True, "errors": []}, 201
        if method == "GET":
            described = describe(org, writer, sobject)
            return {"objectDescribe": {k: v for k, v in described.items() if k != "fields"}, "recentItems": []}, 200
        raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET,POST")
    if parts[1] == "describe" and len(parts) == 2 and method == "GET":
        return describe(org, writer, sobject), 200
    record_id = parts[1]
    blob_field = next(
        (f for n, f in schema[sobject].items() if len(parts) == 3 and n.lower() == parts[2].lower()), None
    )
    if method == "GET" and blob_field is not None and blob_field.type == "base64":
        return content.blob(writer.get(sobject, record_id), blob_field.name), 200  # …/ContentNote/069…/Content
    if method == "GET":
        record = writer.get(sobject, record_id)
        wanted = request.query.get("fields")
        return writer.shaped(sobject, record, [f.strip() for f in wanted.split(",")] if wanted else None), 200
    if method == "PATCH":
        writer.update(sobject, record_id, await _json_body(request))
        return None, 204
    if method == "DELETE":
        writer.delete(sobject, record_id)
        return None, 204
    raise SfError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET,PATCH,DELETE")


def describe(org: Org, writer: Writer, sobject: str) -> dict:
    """The object's describe as this caller sees it: its fields, its record types."""
    infos = recordtypes.infos(_rows(org, "RecordType"), sobject, writer.caller.integration, writer.caller.version)
    shield = "encrypted-email" in writer.on
    return Describe(sobject, fields=writer.fields(sobject), record_types=infos, shield=shield).body(
        writer.caller.version
    )


async def _any_json(request: web.Request) -> Any:
    raw = await request.text()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        raise SfError(
            400, "JSON_PARSER_ERROR", "Unexpected character: expected a valid value at [line:1, column:1]"
        ) from None


async def _json_body(request: web.Request) -> dict:
    raw = await request.text()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise SfError(
            400,
            "JSON_PARSER_ERROR",
            "Unexpected character ('"
            + (raw.strip()[:1] or " ")
            + "' (code "
            + str(ord(raw.strip()[:1] or " "))
            + ")): expected a valid value at [line:1, column:1]",
        ) from None
    if not isinstance(body, dict):
        raise SfError(
            400,
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of SObject out of START_ARRAY token at [line:1, column:1]",
        )
    body.pop("attributes", None)
    return body
