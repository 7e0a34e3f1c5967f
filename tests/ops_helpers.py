"""What the tests of the probes share: a free port for HEALTH_PORT, a probe's answer, a scrape parsed."""

from __future__ import annotations

import json
import socket

import requests
from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the bot binds it moments later, as the simulators' port 0 cannot
    be used here: HEALTH_PORT 0 means off)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(port: int, path: str) -> tuple[int, dict]:
    """(status, JSON body) of GET /livez or /readyz."""
    resp = requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    return resp.status_code, json.loads(resp.text)


def scrape(port: int) -> tuple[str, dict[tuple[str, tuple], float]]:
    """(the text of GET /metrics, {(sample name, sorted labels): value})."""
    resp = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    resp.raise_for_status()
    assert resp.headers["Content-Type"].startswith("text/plain")
    return resp.text, samples(resp.text)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet: a counter never incremented)."""
    return found.get((name, tuple(sorted(labels.items()))), 0.0)
