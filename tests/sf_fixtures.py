"""Salesforce-side fixtures: a JWT key pair made at test time and the loopback org.

- `sf_keys` (session): `.key_path`, `.cert_path` — the Connected App's key and certificate.
- `start_sf_sim(seed="empty", **options)` (factory): a running `python -m simulators.salesforce`,
  stopped at teardown. Options: `session_timeout_minutes`, `audiences`, `username`, `consumer_key`,
  `profiles` (org customisations to start with, e.g. `("field-access", "users")` or `("all",)`).
- `sf_sim` (module): one simulator with `--seed empty`; call `.reset(seed)` in a test for a clean org.

A handle has `.url`, `.ca_cert`, `.consumer_key`, `.username`, `.key_path`, `.cert_path`,
`.http` (a requests session that trusts only the simulator's certificate) and the `/_sim/`
controls: `calls()`, `reset_calls()`, `reset(seed)`, `fault(...)`, `clear_faults()`,
`expire_sessions()`, `set_api_usage(used, limit)`, `records(sobject)`, `insert(sobject, fields)`,
`add_user(username, preauthorized, active)`, `crm_settings(**over)`, `hold(routes, phase, count)`, `held()`, `release()`,
`set_profiles([...])` (switches the org profiles at run time and returns `profiles_info()`),
`profiles_info()` (the profiles on and the ids of the users, queue, record types and account they
seeded), `token(**claims)` (mints one with a fresh JWT; `token(sub="dave@acme.example")` logs in as
one of the `users` profile's people), `stop()`.

Also `convert_lead(lead_id, account_id=None, contact=None)` (converts a Lead as a sales rep would; returns
{"lead_id", "contact_id", "account_id"}) and `notes()` (every ContentNote with its decoded `html`, its `text`
and its `links`). Profiles `all` leaves off, named alone or next to it: `person-accounts` (profiles_info()
adds "person_contacts" and the "Pat Person" account and the Account record types), `encrypted-email`, `no-api`
(simulators/salesforce/profiles.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests

from salesforce_omnichannel.crm.settings import SalesforceSettings
from simulators.certs import make_key_and_certificate
from simulators.launch import Simulator

CONSUMER_KEY = "3MVG9SimulatedConsumerKeyForTests"
USERNAME = "integration@example.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Keys:
    key_path: Path
    cert_path: Path


class SalesforceSim:
    def __init__(
        self,
        keys: Keys,
        seed: str = "empty",
        session_timeout_minutes: float | None = None,
        audiences: tuple[str, ...] = (),
        username: str = USERNAME,
        consumer_key: str = CONSUMER_KEY,
        profiles: tuple[str, ...] | list[str] = (),
    ):
        args = [
            "--port",
            "0",
            "--consumer-key",
            consumer_key,
            "--certificate",
            str(keys.cert_path),
            "--username",
            username,
            "--seed",
            seed,
        ]
        if session_timeout_minutes is not None:
            args += ["--session-timeout-minutes", str(session_timeout_minutes)]
        for audience in audiences:
            args += ["--audience", audience]
        for profile in profiles:
            args += ["--profile", profile]
        self.process = Simulator("simulators.salesforce", args)
        self.url = self.process.url
        self.ca_cert = self.process.wait_for_line("certificate ").split(" ", 1)[1].strip()
        self.consumer_key, self.username = consumer_key, username
        self.key_path, self.cert_path = keys.key_path, keys.cert_path
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = self.ca_cert

    # -- controls ----------------------------------------------------------------------
    def _post(self, path: str, body: dict | None = None) -> dict:
        resp = self.http.post(self.url + path, json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def calls(self) -> dict[str, int]:
        return self.http.get(self.url + "/_sim/calls", timeout=10).json()["calls"]

    def reset_calls(self) -> None:
        self._post("/_sim/calls")

    def reset(self, seed: str = "empty") -> None:
        self._post("/_sim/reset", {"seed": seed})

    def fault(
        self,
        status: int | None = 503,
        seconds: float | None = None,
        count: int | None = None,
        delay: float | None = None,
        routes: list[str] | None = None,
    ) -> None:
        self._post(
            "/_sim/fault", {"status": status, "seconds": seconds, "count": count, "delay": delay, "routes": routes}
        )

    def clear_faults(self) -> None:
        self.http.delete(self.url + "/_sim/fault", timeout=10).raise_for_status()

    def hold(self, routes: list[str], phase: str = "before", count: int = 1) -> None:
        """Keep the next COUNT requests on ROUTES in flight (see simulators/sf_hold.py)."""
        self._post("/_sim/hold", {"routes": routes, "phase": phase, "count": count})

    def held(self) -> int:
        return self.http.get(self.url + "/_sim/hold", timeout=10).json()["held"]

    def release(self) -> None:
        self.http.delete(self.url + "/_sim/hold", timeout=10).raise_for_status()

    def add_validation_rule(self, sobject: str, field: str, refuse: str, message: str) -> None:
        """Saves of SOBJECT whose FIELD contains REFUSE fail with FIELD_CUSTOM_VALIDATION_EXCEPTION."""
        self._post("/_sim/validation-rules", {"sobject": sobject, "field": field, "refuse": refuse, "message": message})

    def set_search_index_lag(self, seconds: float) -> None:
        """New and changed records stay invisible to SOSL (not SOQL) for SECONDS."""
        self._post("/_sim/search-index-lag", {"seconds": seconds})

    def set_profiles(self, profiles: list[str] | tuple[str, ...]) -> dict:
        """Switch the org's profiles (see simulators/salesforce/profiles.py); [] is the plain org."""
        return self._post("/_sim/profiles", {"profiles": list(profiles)})

    def profiles_info(self) -> dict:
        """{"profiles", "effective", "integration_user", "users", "usernames", "queues", "record_types", "accounts"}."""
        resp = self.http.get(self.url + "/_sim/profiles", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def convert_lead(self, lead_id: str, account_id: str | None = None, contact: dict | None = None) -> dict:
        """Convert the Lead (into ACCOUNT_ID, else a new Account named after its Company); CONTACT: more values
        for the new Contact. Returns {"lead_id", "contact_id", "account_id"}."""
        return self._post(
            "/_sim/convert-lead", {"lead_id": lead_id, "account_id": account_id, "contact": contact or {}}
        )

    def notes(self) -> list[dict]:
        """Every ContentNote: {"Id", "Title", "OwnerId", "html" (its decoded Content), "text" (without markup),
        "links": [{"Id", "LinkedEntityId", "ShareType", "Visibility"}]}."""
        resp = self.http.get(self.url + "/_sim/notes", timeout=10)
        resp.raise_for_status()
        return resp.json()["notes"]

    def expire_sessions(self) -> None:
        self._post("/_sim/expire-sessions")

    def set_api_usage(self, used: int, limit: int | None = None) -> None:
        self._post("/_sim/api-usage", {"used": used, **({"limit": limit} if limit is not None else {})})

    def records(self, sobject: str) -> list[dict]:
        return self.http.get(self.url + f"/_sim/records/{sobject}", timeout=10).json()["records"]

    def insert(self, sobject: str, fields: dict) -> str:
        return self._post(f"/_sim/records/{sobject}", fields)["id"]

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete through the REST API, as a user's delete or the losing side of a merge does (recycle bin)."""
        token = self.token()
        resp = self.http.delete(
            f"{token['instance_url']}/services/data/v59.0/sobjects/{sobject}/{record_id}",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        assert resp.status_code == 204, resp.text

    def add_user(self, username: str, preauthorized: bool = True, active: bool = True) -> None:
        self._post("/_sim/users", {"username": username, "preauthorized": preauthorized, "active": active})

    def assertion(self, **claims) -> str:
        body = {
            "iss": self.consumer_key,
            "sub": self.username,
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 180,
        }
        body.update(claims)
        return jwt.encode(body, self.key_path.read_text(), algorithm="RS256")

    def token(self, **claims) -> dict:
        resp = self.http.post(
            self.url + "/services/oauth2/token",
            data={"grant_type": JWT_GRANT, "assertion": self.assertion(**claims)},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()

    def crm_settings(self, **over) -> SalesforceSettings:
        """The CRM core's settings for this org (a 10 s request timeout), with OVER changed."""
        values = dict(
            consumer_key=self.consumer_key,
            username=self.username,
            auth_url=self.url + "/services/oauth2/token",
            audience="https://login.salesforce.com",
            private_key_file=str(self.key_path),
            ca_bundle=self.ca_cert,
            timeout_seconds=10,
        )
        values.update(over)
        return SalesforceSettings(**values)

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture(scope="session")
def sf_keys(tmp_path_factory) -> Keys:
    key, cert = make_key_and_certificate(tmp_path_factory.mktemp("sf-keys"), "connected-app")
    return Keys(key, cert)


@pytest.fixture
def start_sf_sim(sf_keys):
    started: list[SalesforceSim] = []

    def _start(seed: str = "empty", **options) -> SalesforceSim:
        sim = SalesforceSim(sf_keys, seed=seed, **options)
        started.append(sim)
        return sim

    yield _start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def sf_sim(sf_keys):
    sim = SalesforceSim(sf_keys)
    yield sim
    sim.stop()


@pytest.fixture
def demo_org(sf_sim):
    """The module's simulated org with the demo data and no profile; a test switches profiles on with
    `demo_org.set_profiles([...])`, and they are off again (and the demo data back) after it."""
    sf_sim.set_profiles([])
    sf_sim.reset("demo")
    yield sf_sim
    sf_sim.set_profiles([])
    sf_sim.reset("demo")
