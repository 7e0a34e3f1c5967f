"""Which failures are the network's and which are bugs: a Rocket.Chat or Salesforce timeout, a refused
or reset connection, a 5xx or a rate limit passes by itself, so it is logged as ONE warning line (what,
which endpoint, when the bot tries again) and never with a traceback; a traceback is for bugs only.

The plugin does not import the backend: a Rocket.Chat REST failure is recognised by its shape
(`status`, `endpoint`, `error`: the backend's RestError, status 0 when no answer came).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from ..crm.errors import CrmError, CrmUnavailable


def _endpoint(exc: requests.RequestException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    if not url:
        return "an unknown endpoint"
    parts = urlsplit(url)
    return f"{getattr(request, 'method', None) or 'a request to'} {parts.netloc}{parts.path}"  # never the query


def describe(exc: BaseException) -> str | None:
    """One line naming a failure that needs no traceback (what, which endpoint), or None for a bug."""
    if isinstance(exc, CrmError):
        return f"Salesforce {exc.admin_detail}"
    if isinstance(exc, requests.Timeout):
        return f"timeout ({type(exc).__name__}) on {_endpoint(exc)}"
    if isinstance(exc, requests.RequestException):
        return f"network error ({type(exc).__name__}) on {_endpoint(exc)}"
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return f"network error ({type(exc).__name__})"
    status, endpoint = getattr(exc, "status", None), getattr(exc, "endpoint", None)
    if isinstance(status, int) and isinstance(endpoint, str):
        return (
            f"Rocket.Chat {endpoint}: {'no answer' if status == 0 else f'HTTP {status}'}: {getattr(exc, 'error', '')}"
        )
    return None


def is_transient(exc: BaseException) -> bool:
    """A failure that passes by itself: worth a retry, not an admin's action."""
    if isinstance(exc, CrmError):
        return isinstance(exc, CrmUnavailable)
    if isinstance(exc, (requests.RequestException, TimeoutError, ConnectionError)):
        return True
    status = getattr(exc, "status", None)
    return (
        isinstance(status, int)
        and isinstance(getattr(exc, "endpoint", None), str)
        and (status in (0, 429) or status >= 500)
    )
