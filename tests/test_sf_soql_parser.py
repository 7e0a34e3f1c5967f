"""The simulator's SOQL is parsed, not pattern-matched: escapes, precedence, errors, injection."""

from __future__ import annotations

import pytest

from simulators.salesforce import soql as sf_soql
from simulators.salesforce.store import SfError, Store


@pytest.fixture(scope="module")
def store():
    s = Store()
    acme = s.create("Account", {"Name": "Acme"})["Id"]
    s.create("Contact", {"LastName": "O'Brien", "Email": "ob@example.com", "AccountId": acme})
    s.create("Contact", {"LastName": "Back\\slash", "Email": "bs@example.com"})
    s.create("Contact", {"LastName": "Percent%", "Email": "pc@example.com"})
    s.create("Contact", {"LastName": "Plain", "Email": None})
    return s


def run(store, soql):
    q = sf_soql.parse(soql)

    def lookup(i):
        found = store.find(i)
        return found[1] if found else None

    rows = sf_soql.execute(q, list(store.records[q.sobject].values()), lookup)
    return [sf_soql.project(r, q, lookup, "59.0") for r in rows]


def names(rows):
    return [r["LastName"] for r in rows]


def test_escaped_quote_and_backslash(store):
    assert names(run(store, "SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien'")) == ["O'Brien"]
    assert names(run(store, "SELECT LastName FROM Contact WHERE LastName = 'Back\\\\slash'")) == ["Back\\slash"]


def test_like_with_literal_percent(store):
    assert names(run(store, "SELECT LastName FROM Contact WHERE LastName LIKE 'Percent\\%'")) == ["Percent%"]
    assert len(run(store, "SELECT LastName FROM Contact WHERE LastName LIKE '%'")) == 4


def test_not_and_parentheses(store):
    rows = run(
        store,
        "SELECT LastName FROM Contact WHERE (NOT (LastName = 'Plain' OR Email = null)) AND Email LIKE '%@example.com' ORDER BY LastName",
    )
    assert names(rows) == ["Back\\slash", "O'Brien", "Percent%"]


@pytest.mark.parametrize(
    "where, token",
    [
        ("LastName = 'a' AND Email = null OR Phone = null", "OR"),
        ("LastName = 'a' OR Email = null AND Phone = null", "AND"),
        ("LastName = 'a' AND NOT Email = null", "NOT"),
        ("NOT LastName = 'a' AND Email = null", "AND"),
    ],
)
def test_mixing_and_or_not_without_parentheses_is_malformed_as_in_salesforce(where, token):
    query = f"SELECT Id FROM Contact WHERE {where}"
    column = query.index(f" {token} ", query.index("WHERE")) + 2  # 1-based, past the space
    with pytest.raises(SfError) as err:
        sf_soql.parse(query)
    assert err.value.code == "MALFORMED_QUERY"
    assert (
        err.value.message
        == f"\n{query}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\nunexpected token: '{token}'"
    )


@pytest.mark.parametrize(
    "query, verb",
    [
        ("SELECT Id FROM Case WHERE Description = 'x'", "filtered"),
        ("SELECT Id FROM Task WHERE Description LIKE '%room%'", "filtered"),
        ("SELECT Id FROM Contact ORDER BY Description", "sorted"),
    ],
)
def test_long_text_areas_cannot_be_filtered_or_sorted(query, verb):
    with pytest.raises(SfError) as err:
        sf_soql.parse(query)
    expected = "can not be filtered in query call" if verb == "filtered" else "can not be sorted in a query call"
    assert err.value.code == "INVALID_FIELD" and f"field 'Description' {expected}" in err.value.message


@pytest.mark.parametrize(
    "query, code, text",
    [
        (
            "SELECT Id FROM Contact WHERE Email = 5",
            "INVALID_FIELD",
            "value of filter criterion for field 'Email' must be of type string",
        ),
        (
            "SELECT Id FROM Case WHERE IsClosed = 'true'",
            "INVALID_FIELD",
            "field 'IsClosed' must be of type boolean and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > '2026-01-01T00:00:00Z'",
            "INVALID_FIELD",
            "must be of type dateTime",
        ),
        ("SELECT Id FROM Contact WHERE Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
        (
            "SELECT Id FROM Contact WHERE Id LIKE '003%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator on id field",
        ),
        ("SELECT Id, Id FROM Contact", "INVALID_FIELD", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Contact LIMIT 10 OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_literals_ids_duplicates_and_offsets_are_as_strict_as_salesforce(query, code, text):
    with pytest.raises(SfError) as err:
        sf_soql.parse(query)
    assert err.value.code == code and text in err.value.message


def test_parent_fields_nest_or_are_null(store):
    rows = run(store, "SELECT LastName, Account.Name FROM Contact ORDER BY LastName DESC LIMIT 2 OFFSET 1")
    assert names(rows) == ["Percent%", "O'Brien"]
    assert rows[0]["Account"] is None and rows[1]["Account"]["Name"] == "Acme"


def test_in_and_not_in(store):
    assert names(run(store, "SELECT LastName FROM Contact WHERE LastName IN ('Plain', 'Nobody')")) == ["Plain"]
    assert len(run(store, "SELECT LastName FROM Contact WHERE LastName NOT IN ('Plain')")) == 3


@pytest.mark.parametrize("crafted", ["x' OR Email != '", "x\\' OR LastName != \\'", "' OR '1'='1"])
def test_an_escaped_injection_stays_a_literal(store, crafted):
    escaped = crafted.replace("\\", "\\\\").replace("'", "\\'")
    assert run(store, f"SELECT LastName FROM Contact WHERE Email = '{escaped}'") == []


def test_an_unescaped_injection_is_malformed_not_obeyed(store):
    with pytest.raises(SfError) as err:
        run(store, "SELECT LastName FROM Contact WHERE Email = 'x' OR Email != '' extra")
    assert err.value.code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    "soql,code,text",
    [
        ("SELEC Id FROM Contact", "MALFORMED_QUERY", "unexpected token: 'SELEC'"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY", "<EOF>"),
        ("SELECT Nope__x FROM Contact", "INVALID_FIELD", "No such column 'Nope__x' on entity 'Contact'"),
        ("SELECT Id FROM Nope", "INVALID_TYPE", "sObject type 'Nope' is not supported"),
        ("SELECT Id FROM Contact WHERE LastName = 'open", "MALFORMED_QUERY", "ERROR at Row:1"),
    ],
)
def test_errors_read_like_salesforce(soql, code, text):
    with pytest.raises(SfError) as err:
        sf_soql.parse(soql)
    assert err.value.code == code and text in err.value.message


def test_date_literals(store):
    assert len(run(store, "SELECT Id FROM Contact WHERE CreatedDate = TODAY")) == 4
    assert run(store, "SELECT Id FROM Contact WHERE CreatedDate < 2001-01-01T00:00:00Z") == []
    assert len(run(store, "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:3")) == 4
