"""Reading the org's API usage against the simulated org: every response's Sforce-Limit-Info reaches the
listeners (commands' calls included), the Limits resource (`GET …/limits/`, DailyApiRequests Max and
Remaining) costs one API call and agrees with the header, a refused Limits resource falls back to the
resources list's header, and at the limit the refusal's own header still says the figure. Each call's
outcome tells whether Salesforce answered."""

from __future__ import annotations

import pytest

from salesforce_omnichannel.crm.errors import CrmUnavailable
from salesforce_omnichannel.crm.operations import Crm


@pytest.fixture
def org(sf_sim):
    sf_sim.reset("demo")
    sf_sim.set_api_usage(0, 15_000)
    yield sf_sim
    sf_sim.clear_faults()
    sf_sim.set_api_usage(0, 15_000)


def test_every_response_tells_the_listeners_and_the_limits_resource_costs_one_call(org):
    crm = Crm(org.crm_settings())
    heard: list[tuple[int, int]] = []
    crm.client.http.usage_listeners.append(lambda used, limit: heard.append((used, limit)))
    org.set_api_usage(8_000, 10_000)
    crm.find_contacts(email="jane.doe@example.com")  # a describe, then the query: each response says the figure
    used, limit = heard[-1]
    assert used > 8_000 and limit == 10_000 and heard == sorted(heard)
    org.reset_calls()
    assert crm.client.read_usage() == (used + 1, 10_000)  # the read is itself one call, as on Salesforce
    assert {r: n for r, n in org.calls().items() if n and r not in ("POST oauth2/token", "GET id")} == {"GET limits": 1}
    assert heard[-1] == (used + 1, 10_000)


def test_at_the_limit_the_refusal_still_says_the_figure(org):
    crm = Crm(org.crm_settings())
    crm.find_contacts(email="jane.doe@example.com")
    org.set_api_usage(15_000, 15_000)
    assert crm.client.read_usage() == (15_000, 15_000)


def test_a_refused_limits_resource_falls_back_to_the_resources_list(org):
    crm = Crm(org.crm_settings())
    crm.find_contacts(email="jane.doe@example.com")
    org.fault(status=403, routes=["GET limits"])  # no View Setup and Configuration
    org.set_api_usage(100, 15_000)
    assert crm.client.read_usage() == (101, 15_000)  # the refusal's header (a call all the same)
    org.reset_calls()
    assert crm.client.read_usage() == (102, 15_000)  # from now on the resources list only
    assert org.calls().get("GET resources") == 1 and not org.calls().get("GET limits")


def test_each_call_tells_whether_salesforce_answered(org):
    crm = Crm(org.crm_settings())
    outcomes: list[object] = []
    crm.client.outcome_listeners.append(outcomes.append)
    crm.find_contacts(email="jane.doe@example.com")
    org.fault(status=503, count=1)
    with pytest.raises(CrmUnavailable):
        crm.find_contacts(email="jane.doe@example.com")
    assert outcomes[0] is None and isinstance(outcomes[-1], CrmUnavailable)
