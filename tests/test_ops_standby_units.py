"""A standby pair's gates and probes, without a server: what a standby and an ex-leader may not do, and
what /readyz and /metrics say about each role."""

from __future__ import annotations

import pytest
from ops_helpers import samples, value
from rc_rest import RestClient, RestError
from test_ops_units import active, live_backend

from salesforce_omnichannel.crm.http import SalesforceSession
from salesforce_omnichannel.ops.health import Health
from salesforce_omnichannel.ops.leadership import LEADER, STANDBY, Leadership, NotLeader
from salesforce_omnichannel.ops.metrics import Metrics

NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers there


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def leader(clock: Clock) -> Leadership:
    lead = Leadership("postgresql://unused/x", 2.0, name="rcsf-test", on_lost=lambda why: None, clock=clock)
    lead.role, lead._renewed_at = LEADER, clock.now
    return lead


def test_a_leader_acts_only_while_its_last_renewal_is_fresh_on_its_own_clock():
    clock = Clock()
    lead = leader(clock)
    lost: list[str] = []
    lead._on_lost = lost.append
    clock.now += 3.9  # within two 2-second intervals
    lead.require("a greeting")
    clock.now += 0.2  # a pause (SIGSTOP) longer than that: the first action after it is refused
    with pytest.raises(NotLeader, match="a greeting refused"):
        lead.require("a greeting")
    assert lead.role == "lost" and lost and "not renewed" in lost[0]


def test_rocketchat_writes_are_refused_by_the_gate_and_reads_are_not():
    clock = Clock()
    lead = leader(clock)
    rest = RestClient(NOWHERE, timeout=1)
    rest.gate = lead.require
    lead.role = STANDBY
    with pytest.raises(NotLeader, match="Rocket.Chat POST chat.sendMessage"):
        rest.post("chat.sendMessage", {"message": {"rid": "r", "msg": "hello"}})
    with pytest.raises(RestError):  # past the gate: the request was tried
        rest.get("me")


def test_salesforce_requests_are_refused_by_the_gate():
    clock = Clock()
    lead = leader(clock)
    session = SalesforceSession(True, 1)
    session.gates.append(lead.require)
    lead.role = STANDBY
    with pytest.raises(NotLeader, match="Salesforce POST"):
        session.post(f"{NOWHERE}/services/data/v62.0/composite", json={})
    lead.role = LEADER
    with pytest.raises(Exception) as raised:  # the leader's request goes out (and finds nothing there)
        session.post(f"{NOWHERE}/services/data/v62.0/composite", json={})
    assert not isinstance(raised.value, NotLeader)


@pytest.mark.parametrize(
    "role,ready,reason",
    [
        ("standby", True, None),  # waiting is its job: ready, so that a rolling update goes on
        ("leader", True, None),
        ("lost", False, "leadership has ended (lost)"),
        ("released", False, "leadership has ended (released)"),
    ],
)
def test_readyz_and_metrics_tell_the_role(role, ready, reason):
    health = Health()
    health.set_backend(lambda: live_backend(stream_live=role == "leader", logged_in=role == "leader"))
    health.set_role(lambda: role, lambda: 7)
    if role != "standby":
        health.plugin_active(active)
    ok, body = health.readiness()
    assert ok is ready and body["role"] == role and body["epoch"] == 7
    assert (reason is None and body["reasons"] == []) or reason in body["reasons"][0]
    scrape = Metrics(health.snapshot).render().decode()
    found = samples(scrape)
    assert value(found, "rcsf_leader") == (1 if role == "leader" else 0)
    assert value(found, "rcsf_leader_epoch") == 7


def test_a_single_bot_is_its_own_leader_without_an_epoch():
    health = Health()
    health.plugin_active(active)
    ok, body = health.readiness()
    assert ok and body["role"] == "leader" and body["epoch"] is None
    scrape = Metrics(health.snapshot).render().decode()
    found = samples(scrape)
    assert value(found, "rcsf_leader") == 1 and "rcsf_leader_epoch" not in scrape
