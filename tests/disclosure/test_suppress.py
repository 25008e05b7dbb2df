"""Primary and secondary suppression, checked by the independent LP audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluate.disclosure import DisclosureRules, TableSpec, audit_table, control_table
from evaluate.errors import InputError


def two_way(values: np.ndarray) -> tuple[pd.DataFrame, TableSpec]:
    """A rows x columns table of pupil counts with a total column and a total row."""
    r, c = values.shape
    cols = [f"c{j}" for j in range(c)]
    df = pd.DataFrame(values, columns=cols)
    df["total"] = df[cols].sum(axis=1)
    df.insert(0, "area", [f"a{i}" for i in range(r)])
    tot = {"area": "Total", **{k: int(df[k].sum()) for k in [*cols, "total"]}}
    df = pd.concat([df, pd.DataFrame([tot])], ignore_index=True)
    spec = TableSpec(counts={k: "pupils" for k in [*cols, "total"]}, column_totals={"total": cols},
                     row_total=("area", "Total"))
    return df, spec


tables = st.integers(1, 6).flatmap(lambda r: st.integers(1, 5).flatmap(
    lambda c: st.lists(st.one_of(st.integers(0, 12), st.integers(0, 200)), min_size=r * c, max_size=r * c)
    .map(lambda v: np.array(v, dtype=np.int64).reshape(r, c))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=tables, threshold=st.sampled_from([3, 10, 25]))
def test_no_published_small_count_and_no_recoverable_cell(values, threshold):
    df, spec = two_way(values)
    rules = DisclosureRules(pupil_threshold=threshold)
    out = control_table(df, spec, rules)
    # control_table guarantees exact protection; the interval of protection is not yet
    # guaranteed (test_control_does_not_yet_protect_the_interval)
    assert audit_table(out.table, spec, rules, original=df, interval=False) == []
    # every primary cell really was small, every visible count is the original
    for r, c in out.primary:
        assert 0 < df.at[r, c] < threshold
    for c in spec.counts:
        shown = out.table[c] != "c"
        assert (out.table.loc[shown, c].astype(float) == df.loc[shown, c].astype(float)).all()


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_one_way_tables_with_a_total(values):
    df = pd.DataFrame({"area": [f"a{i}" for i in range(len(values))] + ["Total"],
                       "pupils": [*values, sum(values)]})
    spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    out = control_table(df, spec)
    assert audit_table(out.table, spec, original=df, interval=False) == []


def test_the_audit_catches_primary_suppression_alone():
    # a test that could not fail would be a defect: without secondary suppression the
    # audit must find the hidden cell recoverable
    df, spec = two_way(np.array([[4, 30], [25, 60]]))
    rules = DisclosureRules(secondary=False)
    out = control_table(df, spec, rules)
    problems = audit_table(out.table, spec, rules, original=df)
    assert problems and "recovered" in problems[0].message and "it is 4" in problems[0].message
    assert audit_table(df.astype({"c0": object}), spec, rules)[0].message == "small count shown: 4"


def test_a_bridge_between_two_blocks_is_protected():
    # two 2x2 blocks of small cells joined through one line: the line rule alone leaves
    # the joining cell determined; the rank check must add protection
    values = np.array([[3, 4, 50, 60], [5, 6, 70, 80], [90, 95, 2, 3], [85, 99, 4, 5]])
    df, spec = two_way(values)
    out = control_table(df, spec)
    assert audit_table(out.table, spec, original=df, interval=False) == []
    assert len(out.primary) == 8


def test_rates_from_suppressed_counts_are_suppressed():
    df = pd.DataFrame({"area": ["A", "B", "Total"], "pupils": [50, 60, 110], "pa": [4, 20, 24]})
    df["pa_rate"] = 100 * df["pa"] / df["pupils"]
    spec = TableSpec(counts={"pupils": "pupils", "pa": "pupils"}, rates={"pa_rate": ["pa", "pupils"]},
                     row_total=("area", "Total"), hidden=["pa"])
    out = control_table(df, spec)
    assert "pa" not in out.table.columns
    assert out.table["pa_rate"].tolist()[:2] == ["c", "c"]
    assert out.table["pa_rate"].iloc[2] == pytest.approx(100 * 24 / 110)


def test_rounding_to_five_half_up_after_suppression():
    df = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": [12, 17, 3, 32]})
    spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    out = control_table(df, spec, DisclosureRules(round_to=5))
    # 3 is suppressed, then 12 (the smallest other part) protects it; 17 -> 15, 32 -> 30
    assert out.table["pupils"].tolist() == ["c", 15, "c", 30]
    out2 = control_table(pd.DataFrame({"area": ["A"], "pupils": [12.5]}),
                         TableSpec(counts={"pupils": "pupils"}), DisclosureRules(round_to=5))
    assert out2.table["pupils"].tolist() == [15]


def test_school_counts_are_kept_unless_a_threshold_is_set():
    df = pd.DataFrame({"cohort": ["2023", "2024"], "schools": [2, 40]})
    spec = TableSpec(counts={"schools": "schools"})
    assert control_table(df, spec).table["schools"].tolist() == [2, 40]
    assert control_table(df, spec, DisclosureRules(school_threshold=3)).table["schools"].tolist() == ["c", 40]


def test_control_is_idempotent():
    df, spec = two_way(np.array([[4, 30, 2], [25, 60, 70], [11, 12, 13]]))
    once = control_table(df, spec)
    twice = control_table(once.table, spec)
    assert once.table.astype(str).equals(twice.table.astype(str))


def test_bad_counts_are_named():
    spec = TableSpec(counts={"pupils": "pupils"})
    with pytest.raises(InputError, match="row 2: a count cannot be negative"):
        control_table(pd.DataFrame({"pupils": [3, -1]}), spec, name="t.csv")
    with pytest.raises(InputError, match="column 'pupils', row 1: a count must be a number"):
        control_table(pd.DataFrame({"pupils": ["abc"]}), spec, name="t.csv")
    with pytest.raises(InputError, match="no column 'pupils'"):
        control_table(pd.DataFrame({"x": [1]}), spec)


def test_the_audit_checks_an_interval_of_protection():
    spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    # two hidden cells of 1 and 1 with 10 shown and a total of 12: each is 0 to 2
    narrow = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": ["c", "c", 10, 12]})
    problems = audit_table(narrow, spec)
    assert [(p.row, p.message) for p in problems] == [
        (1, "suppressed cell can be narrowed down to 0 to 2 from the totals (less than the threshold of 10 apart)"),
        (2, "suppressed cell can be narrowed down to 0 to 2 from the totals (less than the threshold of 10 apart)")]
    assert audit_table(narrow, spec, interval=False) == []
    # hidden beside a larger cell the interval is wide enough: 0 to 52
    wide = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": ["c", "c", 10, 62]})
    assert audit_table(wide, spec) == []
    # the width needed is the threshold of the count's kind; school counts without one are exact only
    assert audit_table(narrow, spec, DisclosureRules(pupil_threshold=2)) == []
    schools = TableSpec(counts={"pupils": "schools"}, row_total=("area", "Total"))
    assert audit_table(narrow, schools) == []
    assert len(audit_table(narrow, schools, DisclosureRules(school_threshold=5))) == 2


def test_rounded_tables_are_audited_for_recovery_too():
    spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    df = pd.DataFrame({"area": ["A", "B", "Total"], "pupils": [3, 100, 103]})
    rules = DisclosureRules(pupil_threshold=25, round_to=5, secondary=False)
    out = control_table(df, spec, rules)
    assert out.table["pupils"].tolist() == ["c", 100, 105]
    # 105 stands for 102.5 to 107.5 and 100 for 97.5 to 102.5: the hidden cell is 0 to 10
    assert [p.message for p in audit_table(out.table, spec, rules)] == [
        "suppressed cell can be narrowed down to 0 to 10 from the totals (less than the threshold of 25 apart)"]
    protected = control_table(df, spec, DisclosureRules(pupil_threshold=25, round_to=5))
    assert audit_table(protected.table, spec, DisclosureRules(pupil_threshold=25, round_to=5)) == []


@pytest.mark.xfail(strict=True, reason="control_table protects against exact recovery only; "
                   "when it protects the interval this passes: set audit.GATE_CHECKS_INTERVAL = True")
def test_control_does_not_yet_protect_the_interval():
    df = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": [1, 1, 10, 12]})
    spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    out = control_table(df, spec)
    assert audit_table(out.table, spec) == []


def test_the_scanner_checks_values_as_well_as_headers():
    from evaluate.disclosure import scan_html

    kv = ("<table><tr><th>Measure</th><th>Number</th></tr>"
          "<tr><td>Mentored pupils</td><td>7</td></tr><tr><td>Hub schools</td><td>3</td></tr>"
          "<tr><td>Pupils in the pilot</td><td>40</td></tr><tr><td>Persistent absence rate, pupils</td><td>4.5</td></tr>"
          "<tr><td>Note</td><td>based on 4 pupils in one school</td></tr>"
          "<tr><td>Example</td><td>A123456789012</td></tr></table>")
    got = [(p.row, p.message) for p in scan_html(kv)]
    assert got == [(1, "small count of pupils shown in the row 'Mentored pupils': 7"),
                   (5, "small count of pupils shown in the text: '4 pupils'"),
                   (6, "looks like a unique pupil number; pupil-level data may not be published")]
    # a table whose header names no pupils was not scanned at all before
    assert scan_html(kv.replace("7", "c").replace("4 pupils", "c pupils").replace("A123456789012", "x")) == []
    # the interval of protection is checked in a rendered table when asked
    narrow = ("<table><tr><th>Area</th><th>Pupils</th></tr><tr><td>A</td><td>c</td></tr><tr><td>B</td>"
              "<td>c</td></tr><tr><td>C</td><td>10</td></tr><tr><td>Total</td><td>12</td></tr></table>")
    assert scan_html(narrow) == [] and len(scan_html(narrow, interval=True)) == 2
