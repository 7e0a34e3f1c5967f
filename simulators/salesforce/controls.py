"""Test controls under `/_sim/`, a prefix no Salesforce client uses: faults, sessions, usage,
records, call counts, org profiles, lead conversion and the notes' text. They never count as API calls."""

from __future__ import annotations

import time

from aiohttp import web

from simulators.salesforce import content, conversion, profiles
from simulators.salesforce import hold as sf_hold
from simulators.salesforce.oauth import User
from simulators.salesforce.rest import Fault, Org, sf_json
from simulators.salesforce.schema import SETUP_OBJECTS
from simulators.salesforce.seed import seed_demo
from simulators.salesforce.store import SfError, Store


def reset_org(org: Org, seed: str) -> None:
    """A fresh store with SEED's records; the profiles that were on stay on and seed again."""
    wanted = profiles.forget(org.issuer.users, org.profiles)
    org.store = Store(username=org.username)
    if seed == "demo":
        seed_demo(org.store)
    for user in org.issuer.users.values():
        user.user_id = org.store.user_id
    profiles.apply(org.store, org.issuer.users, org.profiles, wanted)
    org.sessions.clear()
    org.calls.clear()
    org.faults.clear()
    org.locators.clear()
    org.holds.release()
    org.api_used = 0


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}


async def calls(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    if request.method == "POST":
        org.calls.clear()
        return sf_json({"ok": True})
    return sf_json({"calls": dict(org.calls), "api_used": org.api_used})


async def reset(request: web.Request) -> web.Response:
    reset_org(request.app["org"], (await _body(request)).get("seed", "empty"))
    return sf_json({"ok": True})


async def fault(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    if request.method == "DELETE":
        org.faults.clear()
        return sf_json({"ok": True})
    body = await _body(request)
    seconds, count = body.get("seconds"), body.get("count")
    org.faults.append(
        Fault(
            status=body.get("status"),
            until=time.time() + float(seconds) if seconds is not None else None,
            remaining=int(count) if count is not None else None,
            delay=float(body.get("delay") or 0),
            routes=set(body["routes"]) if body.get("routes") else None,
        )
    )
    return sf_json({"ok": True})


async def expire_sessions(request: web.Request) -> web.Response:
    request.app["org"].sessions.clear()
    return sf_json({"ok": True})


async def api_usage(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    body = await _body(request)
    org.api_used = int(body.get("used", org.api_used))
    org.api_limit = int(body.get("limit", org.api_limit))
    return sf_json({"ok": True})


async def records(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    sobject = request.match_info["sobject"]
    if sobject not in org.store.records:
        return sf_json([{"message": f"unknown sobject {sobject}", "errorCode": "NOT_FOUND"}], 404)
    if request.method == "POST":
        body = await _body(request)
        many = body.get("records") if isinstance(body.get("records"), list) else [body]
        save = org.store.put if sobject in SETUP_OBJECTS else org.store.create
        try:
            ids = [save(sobject, values)["Id"] for values in many]
        except SfError as err:
            return sf_json(err.body(), err.status)
        return sf_json({"ids": ids, "id": ids[0] if ids else None}, 201)
    return sf_json({"records": list(org.store.records[sobject].values())})


async def search_index_lag(request: web.Request) -> web.Response:
    """POST {"seconds": N}: new and changed records stay invisible to SOSL for N seconds."""
    org: Org = request.app["org"]
    org.search_index_lag = float((await _body(request)).get("seconds") or 0)
    return sf_json({"ok": True})


async def rules(request: web.Request) -> web.Response:
    """POST {"sobject", "field", "refuse", "message"} adds a validation rule; DELETE removes them all."""
    store = request.app["org"].store
    if request.method == "DELETE":
        store.rules.clear()
        return sf_json({"ok": True})
    body = await _body(request)
    store.rules.append(
        (
            str(body["sobject"]),
            str(body["field"]),
            str(body["refuse"]),
            str(body.get("message") or "Refused by a validation rule."),
        )
    )
    return sf_json({"ok": True})


async def users(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    body = await _body(request)
    name = str(body.get("username") or "")
    org.issuer.users[name] = User(
        name,
        org.store.user_id,
        bool(body.get("preauthorized", True)),
        bool(body.get("active", True)),
        bool(body.get("app_access", True)),
    )
    return sf_json({"ok": True})


async def org_profiles(request: web.Request) -> web.Response:
    """GET: the profiles on and the ids of what they seeded. POST {"profiles": [...]}: switch them."""
    org: Org = request.app["org"]
    if request.method == "POST":
        names = (await _body(request)).get("profiles")
        try:
            wanted = profiles.parse(names if isinstance(names, list) else [])
        except ValueError as exc:
            return sf_json([{"message": str(exc), "errorCode": "INVALID_INPUT"}], 400)
        profiles.apply(org.store, org.issuer.users, org.profiles, wanted)
    return sf_json(org.profiles.summary(org.store, org.username))


async def hold(request: web.Request) -> web.Response:
    org: Org = request.app["org"]
    if request.method == "DELETE":
        org.holds.release()
        return sf_json({"ok": True})
    if request.method == "POST":
        body = await _body(request)
        phase = body.get("phase", "before")
        if phase not in sf_hold.PHASES or not body.get("routes"):
            return sf_json(
                [{"message": "routes and phase before|after|lost|trickle", "errorCode": "INVALID_INPUT"}], 400
            )
        org.holds.arm(set(body["routes"]), phase, int(body.get("count") or 1))
        return sf_json({"ok": True})
    return sf_json({"held": org.holds.held, "armed": sum(h.remaining for h in org.holds.armed)})


async def convert_lead(request: web.Request) -> web.Response:
    """POST {"lead_id", "account_id"?, "contact"?: {more contact values}}: convert the lead as a sales rep
    would (conversion.py); answers {"lead_id", "contact_id", "account_id"} or Salesforce's error."""
    org: Org = request.app["org"]
    body = await _body(request)
    extra = body.get("contact") if isinstance(body.get("contact"), dict) else None
    try:
        ids = conversion.convert(org.store, str(body.get("lead_id") or ""), body.get("account_id") or None, extra)
    except SfError as err:
        return sf_json(err.body(), err.status)
    return sf_json(ids)


async def notes(request: web.Request) -> web.Response:
    """GET: every ContentNote with its text (the decoded Content: `html`, and without markup: `text`) and
    the records it is linked to, as {"notes": [{"Id", "Title", "OwnerId", "html", "text", "links": [...]}]}."""
    store = request.app["org"].store
    out = []
    for note in store.records["ContentNote"].values():
        raw = content.blob(note, "Content").decode()
        links = [
            {k: link.get(k) for k in ("Id", "LinkedEntityId", "ShareType", "Visibility")}
            for link in store.records["ContentDocumentLink"].values()
            if link.get("ContentDocumentId") == note["Id"]
        ]
        out.append(
            {
                "Id": note["Id"],
                "Title": note.get("Title"),
                "OwnerId": note.get("OwnerId"),
                "html": raw,
                "text": content.plain(raw),
                "links": links,
            }
        )
    return sf_json({"notes": out})


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/_sim/hold", hold)
    app.router.add_route("*", "/_sim/calls", calls)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_route("*", "/_sim/fault", fault)
    app.router.add_post("/_sim/expire-sessions", expire_sessions)
    app.router.add_post("/_sim/api-usage", api_usage)
    app.router.add_route("*", "/_sim/records/{sobject}", records)
    app.router.add_post("/_sim/users", users)
    app.router.add_route("*", "/_sim/validation-rules", rules)
    app.router.add_post("/_sim/search-index-lag", search_index_lag)
    app.router.add_route("*", "/_sim/profiles", org_profiles)
    app.router.add_post("/_sim/convert-lead", convert_lead)
    app.router.add_get("/_sim/notes", notes)
