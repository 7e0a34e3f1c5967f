"""Salesforce calls and latency of each CRM-core operation, against the loopback org.

    .venv/bin/python -m benchmarks.crm_calls [--runs 20]

Starts `python -m simulators.salesforce --seed demo` (a key pair made for this run), drives
`plugins/salesforce/crm.py`'s `Crm` directly (no bot, no chat) and reads the simulator's
`/_sim/calls` counter around every operation:

- cold: a brand-new `Crm` (no token, no describe cached) doing the operation once;
- warm: the same operation again on a `Crm` that has done it before;
- median / p90 ms: RUNS more warm runs, wall-clock, on the loopback HTTPS simulator.

Call counts are exact and repeatable; the milliseconds are this machine's and only good for
comparing operations with each other (a real org adds ~100-300 ms of network per call).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import calls_text, table  # noqa: E402  (sets sys.path)
from salesforce_omnichannel.crm.operations import Crm  # noqa: E402
from sf_fixtures import Keys, SalesforceSim  # noqa: E402
from simulators.certs import make_key_and_certificate  # noqa: E402


def short_route(route: str) -> str:
    """`POST oauth2/token` -> `mint`, `GET sobjects/Case/describe` -> `describe Case`, `GET query` -> `query`..."""
    method, _, path = route.partition(" ")
    parts = path.split("/")
    if route == "POST oauth2/token":
        return "mint"
    if route == "GET id":
        return "identity"
    if parts[0] == "sobjects" and len(parts) >= 2:
        if parts[-1] == "describe":
            return f"describe {parts[1]}"
        verb = {"POST": "insert", "PATCH": "update", "GET": "get", "DELETE": "delete"}.get(method, method)
        return f"{verb} {parts[1]}"
    return path if method == "GET" else route


def short(calls: dict[str, int]) -> str:
    named: dict[str, int] = {}
    for route, n in calls.items():
        named[short_route(route)] = named.get(short_route(route), 0) + n
    return calls_text(named)


def extra(cold: dict[str, int], warm: dict[str, int]) -> str:
    """What the cold run called beyond the warm one."""
    diff = {route: n - warm.get(route, 0) for route, n in cold.items() if n > warm.get(route, 0)}
    return "+ " + short(diff) if diff else "-"


def operations(jane_id: str, case_number: str):
    """(name, fn(crm, i)) pairs; I makes each write unique."""
    created: dict[str, str] = {}

    def create_contact(crm: Crm, i: int):
        record = crm.create_contact(
            {
                "FirstName": "Bench",
                "LastName": f"Mark{i}",
                "Email": f"bench{i}@bench.example",
                "Phone": "+1 555 010 0000",
            }
        )
        created["contact"] = record["Id"]
        created["record"] = record

    def update_given(crm: Crm, i: int):
        crm.update_contact(
            jane_id, {"Title": f"Title {i}", "Email": "jane.doe@example.com"}, current={"Email": "jane.doe@example.com"}
        )

    def update_fetch(crm: Crm, i: int):
        crm.update_contact(jane_id, {"Title": f"Other {i}"})

    return [
        (
            "find contact by email (hit)",
            lambda crm, i: crm.find_contacts(email="jane.doe@example.com", phone="+1 415 555 0134"),
        ),
        (
            "find contact: email miss, phone hit",
            lambda crm, i: crm.find_contacts(email="nobody@example.com", phone="415.555.0134"),
        ),
        ("find contact: email miss, no phone", lambda crm, i: crm.find_contacts(email="nobody@example.com")),
        ("find lead by email (hit)", lambda crm, i: crm.find_leads(email="lee.lead@example.com")),
        ("get contact by id", lambda crm, i: crm.get_contact(jane_id)),
        ("create contact", create_contact),
        (
            "create contact with LeadSource",
            lambda crm, i: crm.create_contact(
                {"LastName": f"Src{i}", "Email": f"src{i}@bench.example", "LeadSource": "web"}
            ),
        ),
        ("update contact (current given)", update_given),
        ("update contact (current fetched)", update_fetch),
        ("contact's cases", lambda crm, i: crm.contact_cases(jane_id)),
        ("case by number", lambda crm, i: crm.case_by_number(case_number)),
        (
            "create case (defaults from describe)",
            lambda crm, i: crm.create_case(jane_id, {"Subject": f"Bench case {i}"}),
        ),
        (
            "create case, all picklists given",
            lambda crm, i: crm.create_case(
                jane_id, {"Subject": f"Bench {i}", "Status": "New", "Priority": "High", "Origin": "Chat"}
            ),
        ),
        (
            "log transcript",
            lambda crm, i: crm.log_transcript(jane_id, "Chat transcript", "visitor: hi\nagent: hello\n" * 40),
        ),
        ("activities: tasks", lambda crm, i: crm.activities(jane_id, "tasks")),
        ("activities: calls", lambda crm, i: crm.activities(jane_id, "calls")),
        ("activities: events", lambda crm, i: crm.activities(jane_id, "events")),
        ("status (identity)", lambda crm, i: crm.status()),
    ]


def measure(sim: SalesforceSim, runs: int) -> list[list]:
    settings = sim.crm_settings()
    probe = Crm(settings)
    jane_id = probe.find_contacts(email="jane.doe@example.com")[0].record["Id"]
    case_number = probe.contact_cases(jane_id)[0]["CaseNumber"]
    rows = []
    counter = 0
    for name, op in operations(jane_id, case_number):
        crm = Crm(settings)  # cold: no token, nothing described
        sim.reset_calls()
        counter += 1
        started = time.perf_counter()
        op(crm, counter)
        cold_ms = (time.perf_counter() - started) * 1000
        cold = sim.calls()
        sim.reset_calls()
        counter += 1
        op(crm, counter)
        warm = sim.calls()
        times = []
        for _ in range(runs):
            counter += 1
            started = time.perf_counter()
            op(crm, counter)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p90 = times[min(len(times) - 1, int(round(0.9 * (len(times) - 1))))]
        rows.append(
            [
                name,
                sum(cold.values()),
                sum(warm.values()),
                f"{cold_ms:.1f}",
                f"{statistics.median(times):.1f}",
                f"{p90:.1f}",
                short(warm),
                extra(cold, warm),
            ]
        )
    return rows


def concurrent(sim: SalesforceSim, threads: int = 8) -> list[list]:
    """THREADS callers at once on one cold `Crm`: how many mints and describes do they cause?"""
    settings = sim.crm_settings()
    jane_id = Crm(settings).find_contacts(email="jane.doe@example.com")[0].record["Id"]
    rows = []
    for name, op in (
        ("find contact by email", lambda crm, i: crm.find_contacts(email="jane.doe@example.com")),
        ("log transcript", lambda crm, i: crm.log_transcript(jane_id, "Chat transcript", f"visitor: hi {i}")),
        ("create case", lambda crm, i: crm.create_case(jane_id, {"Subject": f"Concurrent {i}"})),
    ):
        crm = Crm(settings)
        sim.reset_calls()
        barrier = threading.Barrier(threads)
        errors: list[BaseException] = []

        def run(i: int, barrier=barrier, op=op, crm=crm, errors=errors) -> None:
            barrier.wait(10)
            try:
                op(crm, i)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        elapsed = (time.perf_counter() - started) * 1000
        calls = sim.calls()
        rows.append(
            [
                f"{threads} x {name}",
                sum(calls.values()),
                f"{elapsed:.0f}",
                short(calls),
                f"{len(errors)} ({type(errors[0]).__name__})" if errors else "0",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="warm runs per operation for the timings (default 20)")
    args = parser.parse_args(argv)
    sim = None
    with tempfile.TemporaryDirectory(prefix="bench-sf-") as tmp:
        try:
            key, cert = make_key_and_certificate(tmp, "connected-app")
            sim = SalesforceSim(Keys(key, cert), seed="demo")
            started = time.monotonic()
            rows = measure(sim, max(1, args.runs))
            together = concurrent(sim)
            elapsed = time.monotonic() - started
        finally:
            if sim is not None:
                sim.stop()
    headers = [
        "operation",
        "calls cold",
        "calls warm",
        "cold ms",
        "median ms",
        "p90 ms",
        "warm calls by route",
        "cold adds",
    ]
    print(
        table(
            headers,
            rows,
            title=f"CRM core against the loopback Salesforce simulator ({args.runs} warm runs each; 'mint' = POST oauth2/token)",
        )
    )
    print()
    print(
        table(
            ["operation on one cold Crm, all threads at once", "calls", "wall ms", "calls by route", "errors"],
            together,
            title="Concurrent cold callers (one mint and one describe per object expected)",
        )
    )
    print(f"\n(measured in {elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
