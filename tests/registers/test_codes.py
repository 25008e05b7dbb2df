"""The code table, code by code, against DfE's guidance written out independently here."""

from __future__ import annotations

import pytest

from evaluate.registers import (
    CATEGORIES,
    CODES,
    code_set_of_year,
    code_table,
    lookup,
    reason_columns,
)

# Written from DfE's "School attendance guidance" (pre-2024) and "Working together to
# improve school attendance" (August 2024), not copied from the package's table.
PRE2024 = {
    "/": "present", "\\": "present", "L": "present",
    "B": "aea", "J": "aea", "P": "aea", "V": "aea", "W": "aea",
    "C": "authorised", "E": "authorised", "H": "authorised", "I": "authorised",
    "M": "authorised", "R": "authorised", "S": "authorised", "T": "authorised",
    "G": "unauthorised", "N": "unauthorised", "O": "unauthorised", "U": "unauthorised",
    "D": "not_counted", "X": "not_counted", "Y": "not_counted", "Z": "not_counted",
    "#": "not_counted",
}
NEW2024 = {
    "/": "present", "\\": "present", "L": "present",
    "K": "aea", "V": "aea", "P": "aea", "W": "aea", "B": "aea",
    "C": "authorised", "C1": "authorised", "C2": "authorised", "E": "authorised",
    "I": "authorised", "M": "authorised", "J1": "authorised", "S": "authorised",
    "T": "authorised", "R": "authorised",
    "G": "unauthorised", "N": "unauthorised", "O": "unauthorised", "U": "unauthorised",
    "D": "not_counted", "X": "not_counted", "Q": "not_counted", "Z": "not_counted",
    "#": "not_counted", **{f"Y{k}": "not_counted" for k in range(1, 8)},
}
NOT_CODES = ["F", "-", "A", "Y8", "C3", "J2", "", "/ ", "l", "i"]


@pytest.mark.parametrize(("code", "category"), sorted(PRE2024.items()))
def test_pre2024_code(code, category):
    assert lookup(code, "pre2024").category == category


@pytest.mark.parametrize(("code", "category"), sorted(NEW2024.items()))
def test_2024_code(code, category):
    assert lookup(code, "2024").category == category


def test_the_table_holds_exactly_these_codes():
    t = code_table()
    assert dict(zip(t.loc[t.code_set == "pre2024", "code"], t.loc[t.code_set == "pre2024", "category"],
                    strict=True)) == PRE2024
    assert dict(zip(t.loc[t.code_set == "2024", "code"], t.loc[t.code_set == "2024", "category"],
                    strict=True)) == NEW2024
    assert set(t["category"]) == set(CATEGORIES)


@pytest.mark.parametrize("code", sorted(set(PRE2024) ^ set(NEW2024)))
def test_code_of_one_set_is_unknown_in_the_other(code):
    other = "2024" if code in PRE2024 else "pre2024"
    assert lookup(code, other) is None


@pytest.mark.parametrize("code", NOT_CODES)
def test_not_a_code_in_either_set(code):
    assert lookup(code, "pre2024") is None and lookup(code, "2024") is None


def test_withdrawn_and_new_codes():
    assert {"H", "J", "Y"} <= set(PRE2024) and not {"H", "J", "Y"} & set(NEW2024)
    assert lookup("J", "pre2024").category == "aea"          # interview: approved activity ...
    assert lookup("J1", "2024").category == "authorised"     # ... then authorised absence


def test_reasons_are_ees_style_and_one_per_code():
    for c in CODES:
        assert c.reason.startswith("reason_")
    per_set = {}
    for c in CODES:
        per_set.setdefault(c.code_set, []).append(c.reason)
    for reasons in per_set.values():
        assert len(reasons) == len(set(reasons))
    cols = reason_columns()
    assert len(cols) == len(set(cols))
    assert "reason_t_authorised_mobile_child" in cols      # the data layer's current name
    assert "reason_i_authorised_illness" in cols


def test_code_set_by_academic_year():
    assert [code_set_of_year(y) for y in (2016, 2023, 2024, 2030)] == [
        "pre2024", "pre2024", "2024", "2024"]
    with pytest.raises(ValueError):
        lookup("/", "2019")
