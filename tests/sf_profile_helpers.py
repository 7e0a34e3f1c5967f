"""What the tests of the simulator's org profiles share: a simple-salesforce client as any user, and the
error list of a refused call."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest


def client(sim, **claims) -> Salesforce:
    return Salesforce(
        instance_url=sim.url, session_id=sim.token(**claims)["access_token"], version="59.0", session=sim.http
    )


def refusal(call) -> list[dict]:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        call()
    return exc.value.content
