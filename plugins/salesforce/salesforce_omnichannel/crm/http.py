"""The requests session every Salesforce call goes through: a timeout on every request (neither
requests nor simple-salesforce sets one), the configured CA bundle even where
`REQUESTS_CA_BUNDLE` is set (`trust_env = False`), and the last `Sforce-Limit-Info` seen."""

from __future__ import annotations

import re

import requests
from requests.adapters import HTTPAdapter

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
        self.hooks["response"].append(self._note_usage)

    def _note_usage(self, response: requests.Response, *args, **kwargs) -> None:
        m = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if m:
            self.api_usage = (int(m.group(1)), int(m.group(2)))
