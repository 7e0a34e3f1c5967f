"""Phone numbers as visitors type them: spaces, dashes, dots, brackets, `+` or `00` country codes."""

from __future__ import annotations

import re

MIN_DIGITS = 7
COMPARE_DIGITS = 10  # national significant number length in most plans: compare the tail


def digits(text: str | None) -> str:
    """Only the digits; a leading `00` international prefix is dropped like a `+`."""
    only = re.sub(r"\D", "", text or "")
    return only[2:] if only.startswith("00") else only


def usable(text: str | None) -> bool:
    return len(digits(text)) >= MIN_DIGITS


def same_number(a: str | None, b: str | None) -> bool:
    """`+1 (415) 555-0134`, `415-555-0134` and `4155550134` are the same number."""
    da, db = digits(a), digits(b)
    if len(da) < MIN_DIGITS or len(db) < MIN_DIGITS:
        return False
    n = min(len(da), len(db), COMPARE_DIGITS)
    return da[-n:] == db[-n:]


def search_term(text: str | None) -> str:
    """The tail of the number to hand SOSL's phone search (it matches on digits)."""
    only = digits(text)
    return only[-COMPARE_DIGITS:] if len(only) > COMPARE_DIGITS else only
