"""The requests session every Salesforce call goes through: a timeout on every request (neither
requests nor simple-salesforce sets one), the configured CA bundle even where
`REQUESTS_CA_BUNDLE` is set (`trust_env = False`), and the last `Sforce-Limit-Info` seen (handed to
each of `usage_listeners`: the API budget guard hears every response's figure, commands' included), and
each request's operation, status and duration told to `request_listeners` (the metrics)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter

from .endpoints import operation_of

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
        # told after every HTTP request: (operation, status: the HTTP code, timeout or connection_error, seconds)
        self.request_listeners: list[Callable[[str, str, float], None]] = []
        # asked before every request (raises to refuse): a bot that lost its leadership calls nothing
        self.gates: list[Callable[[str], None]] = []
        self.hooks["response"].append(self._note_usage)

    def send(self, request, **kwargs):
        for gate in self.gates:
            gate(f"Salesforce {request.method} {operation_of(request.method or '', request.url or '')}")
        if not self.request_listeners:
            return super().send(request, **kwargs)
        status, start = "connection_error", time.perf_counter()
        try:
            response = super().send(request, **kwargs)  # the body is read here (no streaming)
            status = str(response.status_code)
            return response
        except requests.exceptions.Timeout:
            status = "timeout"
            raise
        finally:
            seconds = time.perf_counter() - start
            operation = operation_of(request.method or "", request.url or "")
            for listener in list(self.request_listeners):
                try:
                    listener(operation, status, seconds)
                except Exception:  # noqa: BLE001 - a listener's bug must not fail the Salesforce call
                    log.exception("A Salesforce request listener failed")

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
