"""Unit tests: symbols, EES time parsing, GIAS school ids, programme exposure, attrition."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from evaluate.data import programmes as prog
from evaluate.data.attrition import AttritionLog
from evaluate.data.gias import resolve_school_ids
from evaluate.data.symbols import SymbolLog, to_numeric
from evaluate.errors import InputError


def test_symbols_recorded_never_zero():
    log = SymbolLog()
    s = pd.Series(["1", "2.5", "c", "", "low", "x", "z", "u", ":", ".", "NaN"], index=range(1, 12))
    out = to_numeric(s, file="f.csv", column="a", log=log)
    assert out.iloc[:2].tolist() == [1.0, 2.5] and out.iloc[2:].isna().all()
    rec = log.records()
    assert len(rec) == 9 and rec.iloc[0].to_dict() == {"file": "f.csv", "column": "a", "row": 3, "symbol": "c"}
    assert log.summary()["count"].sum() == 9


@pytest.mark.parametrize("bad", ["zz", "1,000", "inf", "--1"])
def test_unknown_token(bad):
    with pytest.raises(InputError, match=r"file f.csv, column 'a', row 2"):
        to_numeric(pd.Series(["1", bad], index=[1, 2]), file="f.csv", column="a")


def _links(rows):
    return pd.DataFrame(rows, columns=["URN", "LinkURN", "LinkType"])


def test_conversion_chain():
    ids = resolve_school_ids(_links([(1, 2, "Successor"), (2, 1, "Predecessor"), (2, 3, "Successor")]))
    assert ids.as_dict() == {1: 1, 2: 1, 3: 1}
    assert ids.summary["longest_chain"] == 3
    assert ids.mapping.set_index("urn")["position"].to_dict() == {1: 0, 2: 1, 3: 2}


def test_merger_most_pupils_then_lowest_urn():
    links = _links([(10, 30, "Successor - merged"), (20, 30, "Successor - merged"), (30, 10, "Predecessor - merged")])
    assert resolve_school_ids(links, {10: 100, 20: 200}).as_dict()[30] == 20
    assert resolve_school_ids(links, {10: 200, 20: 200}).as_dict()[30] == 10
    ids = resolve_school_ids(links, {10: 100, 20: 200})
    assert ids.as_dict()[10] == 10 and ids.summary["mergers"] == 1


def test_split_starts_new_ids():
    ids = resolve_school_ids(_links([(1, 2, "Successor - Split School"), (1, 3, "Successor"), (1, 4, "Successor")]))
    assert ids.as_dict() == {1: 1, 2: 2, 3: 3, 4: 4} and ids.summary["splits"] == 1


def test_cycle_and_contradiction_are_reported_not_looped():
    ids = resolve_school_ids(_links([(1, 2, "Successor"), (2, 3, "Successor"), (3, 1, "Successor"),
                                     (7, 8, "Successor"), (8, 7, "Successor")]))
    d = ids.as_dict()
    assert d[1] == d[2] == d[3] == 1 and d[7] == 7 and d[8] == 8
    assert ids.summary["cycles_broken"] == 1 and ids.summary["contradictory_pairs"] == 1
    assert len(ids.problems) == 2


def test_links_cycle_in_build_is_handled(data_dir):
    from evaluate.data.panel import build_panel

    p = data_dir / "gias" / "links_edubasealldata.csv"
    p.write_text(p.read_text() + "5,6,x,Successor,\n6,7,y,Successor,\n7,5,z,Successor,\n", encoding="utf-8")
    b = build_panel(data_dir)
    assert b.conversions["cycles_broken"] == 1 and b.problems


def test_terms_and_exposure():
    a, b = prog.term_bounds(2023, "spring")
    assert a == dt.date(2024, 1, 1) and b == dt.date(2024, 3, 31)  # Easter Sunday 2024
    assert prog.term_bounds(2023, "summer")[0] == dt.date(2024, 4, 1)
    assert prog.cohort_of(dt.date(2023, 9, 1)) == (2023, 2023)
    assert prog.cohort_of(dt.date(2023, 8, 10)) == (2023, 2023)
    assert prog.cohort_of(dt.date(2023, 9, 2), "first_full_year") == (2024, 2023)
    # mostly_exposed (default): the programmes' own account of their first full years
    assert prog.cohort_of(dt.date(2022, 11, 1)) == (2022, 2022)  # Middlesbrough: 2022/23
    assert prog.cohort_of(dt.date(2023, 10, 2)) == (2023, 2023)  # October 2023 hubs: 2023/24
    assert prog.cohort_of(dt.date(2023, 6, 15)) == (2023, 2022)  # June 2023 hubs: 2023/24
    assert prog.cohort_of(dt.date(2024, 1, 15)) == (2024, 2023)  # spring 2024 hubs: 2024/25
    assert prog.cohort_of(dt.date(2025, 3, 1)) == (2025, 2024)  # mentors, actual start
    assert prog.cohort_of(dt.date(2023, 11, 23)) == (2023, 2023)  # the last day that counts
    assert prog.cohort_of(dt.date(2023, 11, 24)) == (2024, 2023)
    assert prog.cohort_of(dt.date(2024, 3, 1), "first_exposed_year") == (2023, 2023)
    assert prog.cohort_of(None) == (0, 0)
    first, last = prog.year_bounds(2023)
    assert prog.exposure_share(dt.date(2023, 9, 1), first, last) == 1.0
    assert prog.exposure_share(dt.date(2024, 8, 1), first, last) == 0.0
    assert 0.4 < prog.exposure_share(dt.date(2024, 2, 1), first, last) < 0.6


def test_attrition_adds_up_and_catches_gaps():
    log = AttritionLog()
    log.read("a.csv", 10)
    log.read("b.csv", 5)
    log.step("all", 15, 15, "combined")
    log.step("drop", 15, 12, "three go")
    log.check()
    f = log.to_frame()
    assert list(f.columns) == ["step", "rows_before", "rows_after", "dropped", "reason"]
    assert log.rows_read - f["dropped"].sum() == 12
    log.step("gap", 11, 11, "does not follow")
    with pytest.raises(AssertionError):
        log.check()
