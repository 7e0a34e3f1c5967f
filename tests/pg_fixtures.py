"""A real PostgreSQL server for the tests that need one: a throwaway cluster per test module.

Without PostgreSQL server binaries the tests that need one are skipped, saying so; `.ci/run` installs
the server where it is missing and sets RCSF_REQUIRE_POSTGRES=1, which turns that skip into a failure.
"""

from __future__ import annotations

import os

import pytest

from simulators.postgres import PostgresCluster, bindir


def _unavailable(reason: str) -> None:
    if os.environ.get("RCSF_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (RCSF_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL: {reason} (.ci/run installs it)")


@pytest.fixture(scope="module")
def pg_cluster():
    """A running cluster for the module: `.url` (the bot's role, no superuser), `.admin_url`, `.psql()`."""
    if bindir() is None:
        _unavailable("no server binaries (initdb, postgres) were found")
    cluster = PostgresCluster()  # in the system's temp folder: pytest's own are private to root
    try:
        cluster.start()
    except RuntimeError as exc:
        cluster.stop()
        _unavailable(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of an empty database: every test starts from nothing."""
    pg_cluster.reset()
    return pg_cluster.url
