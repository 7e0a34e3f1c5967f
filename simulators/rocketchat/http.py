"""Request plumbing shared by the simulated REST routes: auth, bodies, errors, paging.

Error bodies as Rocket.Chat's API layer writes them (apps/meteor/app/api/server/api.ts):
401 `{"success": false, "status": "error", "message": "You must be logged in to do this.", "error": …}`,
403 `{"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"}`,
400 `{"success": false, "error": "…", "errorType": "error-…"}`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from simulators.rocketchat.store import Store, User, to_rest

LOGGED_OUT = "You must be logged in to do this."
UNAUTHORIZED = "User does not have the permissions required for this action [error-unauthorized]"
UPPER_COUNT = 100  # API_Upper_Count_Limit: a larger `count` is cut to it; 0 is unlimited (API_Allow_Infinite_Count)


def page_size(request: web.Request, default: int) -> tuple[int, int]:
    """(offset, count) as getPaginationItems reads them."""
    try:
        offset = max(int(request.query.get("offset", 0)), 0)
        count = int(request.query.get("count", default))
    except (ValueError, TypeError):
        raise bad_request("Invalid query parameters", "error-invalid-params") from None
    return offset, min(count, UPPER_COUNT)


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("error"))
        self.status, self.body = status, body


def ok(body: dict | None = None, status: int = 200) -> web.Response:
    return web.json_response(to_rest({**(body or {}), "success": True}), status=status)


def bad_request(error: str, error_type: str | None = None, details: dict | None = None) -> ApiError:
    suffixed = not error_type or error.endswith(f"[{error_type}]")  # Rocket.Chat names the type once
    body: dict[str, Any] = {"success": False, "error": error if suffixed else f"{error} [{error_type}]"}
    if error_type:
        body["errorType"] = error_type
    if details:
        body["details"] = details
    return ApiError(400, body)


def forbidden() -> ApiError:
    return ApiError(403, {"success": False, "error": UNAUTHORIZED})


def not_logged_in() -> ApiError:
    return ApiError(401, {"success": False, "status": "error", "message": LOGGED_OUT, "error": LOGGED_OUT})


def store_of(request: web.Request) -> Store:
    return request.app["store"]


def current_user(request: web.Request) -> User:
    user = request.get("user")
    if user is None:
        raise not_logged_in()
    return user


def resolve_user(request: web.Request) -> User | None:
    token, user_id = request.headers.get("X-Auth-Token"), request.headers.get("X-User-Id")
    if not token or not user_id:
        return None
    return store_of(request).user_by_token(user_id, token)


def require(user: User, permission: str) -> None:
    if not user.can(permission):
        raise forbidden()


async def body_of(request: web.Request) -> dict:
    if not request.can_read_body:
        return {}
    raw = await request.text()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("Invalid JSON body", "error-invalid-params") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid body", "error-invalid-params")
    return body


def parsed_sort(raw: str | None) -> dict | None:
    """parseJsonQuery's `sort`: JSON whose every value is 1 or -1, else 400 error-invalid-sort."""
    if not raw:
        return None
    try:
        sort = json.loads(raw)
        valid = isinstance(sort, dict) and all(v in (1, -1) and not isinstance(v, bool) for v in sort.values())
    except ValueError:
        valid = False
    if not valid:
        raise bad_request(
            f'Invalid sort parameter provided: "{raw}"', "error-invalid-sort", {"helperMethod": "parseJsonQuery"}
        )
    return sort


def paged(request: web.Request, items: list, key: str, default_sort: tuple[str, int] | None = None) -> web.Response:
    """`offset`/`count`/`sort` (JSON) -> `{key: […], count, offset, total}`."""
    q = request.query
    offset, count = page_size(request, 50)
    sort = parsed_sort(q.get("sort"))
    if sort is None and default_sort:
        sort = {default_sort[0]: default_sort[1]}
    for field, direction in reversed(list((sort or {}).items())):
        present = [i for i in items if i.get(field) is not None]
        absent = [i for i in items if i.get(field) is None]
        present.sort(key=lambda i: i[field], reverse=int(direction) < 0)
        items = present + absent
    page = items[offset : offset + count] if count > 0 else items[offset:]
    return ok({key: page, "count": len(page), "offset": offset, "total": len(items)})
