"""Escaping and phone normalisation, as pure functions."""

from __future__ import annotations

import pytest

from salesforce_omnichannel.crm import phones
from salesforce_omnichannel.crm.soql import like_escape, quote, sosl_escape


def test_quote_escapes_everything_salesforce_lists():
    assert quote('O\'Brien \\ "x"\n\t') == "'O\\'Brien \\\\ \\\"x\\\"\\n\\t'"


def test_like_escape_keeps_wildcards_literal():
    assert like_escape("50%_off'") == "50\\%\\_off\\'"


def test_sosl_escape_every_reserved_character():
    reserved = "?&|!{}[]()^~*:\\\"'+-"
    escaped = sosl_escape(reserved)
    assert escaped == "".join("\\" + c for c in reserved)
    assert sosl_escape("a\nb") == "a b"


@pytest.mark.parametrize(
    "a,b",
    [
        ("+1 (415) 555-0134", "415-555-0134"),
        ("4155550134", "+14155550134"),
        ("0044 20 7946 0958", "+44 20 7946 0958"),
        ("(212) 555 0101", "212.555.0101"),
    ],
)
def test_the_same_number_typed_differently(a, b):
    assert phones.same_number(a, b)


@pytest.mark.parametrize("a,b", [("415-555-0134", "415-555-0135"), ("123", "123"), ("", "415-555-0134")])
def test_different_or_unusable_numbers(a, b):
    assert not phones.same_number(a, b)


def test_search_term_is_the_national_tail():
    assert phones.search_term("+1 (415) 555-0134") == "4155550134"
    assert phones.search_term("abc") == ""
