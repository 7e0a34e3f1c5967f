"""The requests session every Salesforce call goes through: a timeout on every request (neither
requests nor simple-salesforce sets one), the configured CA bundle even where
`REQUESTS_CA_BUNDLE` is set (`trust_env = False`), and the last `Sforce-Limit-Info` seen (handed to
each of `usage_listeners`: the API budget guard hears every response's figure, commands' included)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float):
        super().__init__(max_retries=0)
        self._timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


class SalesforceSession(requests.Session):
    def __init__(self, verify: bool | str, timeout: float):
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE must not override the configured CA bundle
        self.verify = verify
        adapter = _TimeoutAdapter(timeout)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.api_usage: tuple[int, int] | None = None
        self.usage_listeners: list[Callable[[int, int], None]] = []
        self.hooks["response"].append(self._note_usage)

    def _note_usage(self, response: requests.Response, *args, **kwargs) -> None:
        m = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if m:
            self.note_usage(int(m.group(1)), int(m.group(2)))

    def note_usage(self, used: int, limit: int) -> None:
        self.api_usage = (used, limit)
        for listener in list(self.usage_listeners):
            try:
                listener(used, limit)
            except Exception:  # noqa: BLE001 - a listener's bug must not fail the Salesforce call
                log.exception("An API usage listener failed")
