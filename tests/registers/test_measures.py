"""register_measures: a hand-built register with known answers, accounting, dual registration
and a plain-pandas oracle on random data."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from evaluate.registers import reason_columns, register_measures
from evaluate.registers.measures import date_terms

from .conftest import oracle, random_marks

D = dt.date


def _marks(rows):
    df = pd.DataFrame(rows, columns=["pupil_id", "urn", "date", "session", "code"])
    return ibis.memtable(df)


# Easter Sunday 2024 is 31 March: Thursday 28 March is spring, Tuesday 2 April summer.
TINY = [
    ("a", 100, D(2023, 9, 4), "AM", "/"), ("a", 100, D(2023, 9, 4), "PM", "\\"),
    ("a", 100, D(2023, 9, 5), "AM", "I"), ("a", 100, D(2023, 9, 5), "PM", "I"),
    ("a", 100, D(2024, 3, 28), "AM", "L"), ("a", 100, D(2024, 3, 28), "PM", "O"),
    ("a", 100, D(2024, 4, 2), "AM", "B"), ("a", 100, D(2024, 4, 2), "PM", "#"),
    ("b", 100, D(2023, 9, 4), "AM", "/"), ("b", 100, D(2023, 9, 4), "PM", "\\"),
    ("b", 100, D(2023, 9, 5), "AM", "/"), ("b", 100, D(2023, 9, 5), "PM", "X"),
    ("b", 100, D(2024, 3, 28), "AM", "Z"), ("b", 100, D(2024, 3, 28), "PM", "Z"),
    ("b", 100, D(2024, 4, 2), "AM", "G"), ("b", 100, D(2024, 4, 2), "PM", "\\"),
    ("a", 100, D(2024, 9, 10), "AM", "C1"), ("a", 100, D(2024, 9, 10), "PM", "/"),
]


@pytest.fixture(scope="module")
def tiny():
    return register_measures(_marks(TINY))


def _row(res, year, period):
    s = res.schools
    r = s[(s["year"] == year) & (s["period"] == period)]
    assert len(r) == 1
    return r.iloc[0]


@pytest.mark.parametrize(("year", "period", "expected"), [
    # enrolments, possible, overall, authorised, unauthorised, PA10, PA50
    (2023, "autumn", (2, 7, 2, 2, 0, 1, 1)),   # a: 2 of 4 absent; b: 0 of 3 (X not counted)
    (2023, "spring", (1, 2, 1, 0, 1, 1, 1)),   # b only Z: no possible session, not enrolled
    (2023, "summer", (2, 3, 1, 0, 1, 1, 1)),   # a: B present-ish, # not counted; b: G of 2
    (2023, "year", (2, 12, 4, 2, 2, 2, 0)),    # a: 3/7 = 43%, b: 1/5 = 20% (year sessions)
    (2024, "autumn", (1, 2, 1, 1, 0, 1, 1)),   # C1 is an authorised absence in 2024/25
    (2024, "year", (1, 2, 1, 1, 0, 1, 1)),
])
def test_hand_built_register(tiny, year, period, expected):
    r = _row(tiny, year, period)
    got = tuple(int(r[c]) for c in ["enrolments", "sess_possible", "sess_overall", "sess_authorised",
                                   "sess_unauthorised", "enrolments_pa_10_exact",
                                   "enrolments_pa_50_exact"])
    assert got == expected


def test_hand_built_reasons_and_accounting(tiny):
    a = _row(tiny, 2023, "autumn")
    assert (a.reason_present_am, a.reason_present_pm, a.reason_i_authorised_illness,
            a.reason_x_not_attending_not_required, a.sess_not_counted) == (3, 2, 2, 1, 1)
    sp, su = _row(tiny, 2023, "spring"), _row(tiny, 2023, "summer")
    assert sp.reason_z_not_attending_not_on_roll == 2 and sp.reason_o_other_unauthorised == 1
    assert sp.reason_l_present_late_before_registers_closed == 1
    assert su.reason_not_attending_planned_closed == 1 and su.reason_b_aea_education_off_site == 1
    assert su.sess_approved_educational_activity == 1
    assert _row(tiny, 2024, "autumn").reason_c1_authorised_regulated_performance == 1
    assert dict(tiny.marks) == {"read": 18, "counted": 14, "not_counted": 4, "unknown": 0,
                                "malformed": 0}
    # every period's reasons add up to its sessions
    s = tiny.schools
    assert (s[reason_columns()].sum(axis=1) == s["sess_possible"] + s["sess_not_counted"]).all()


def test_pupil_rows_stay_lazy_and_are_right(tiny):
    assert isinstance(tiny.pupils, ibis.Table)
    p = tiny.pupils.to_pandas().set_index(["pupil_id", "year", "term"]).sort_index()
    assert p.loc[("a", 2023, "autumn"), ["sess_possible", "sess_overall", "pa10", "pa50"]].tolist() == [
        4, 2, 1, 1]
    assert p.loc[("b", 2023, "spring"), ["sess_possible", "sess_not_counted", "pa10"]].tolist() == [
        0, 2, 0]
    # year rows: the year's sessions and flags (a: 3 of 7 absent is persistent, not severe)
    assert p.loc[("a", 2023, "year"), ["sess_possible", "sess_overall", "pa10", "pa50"]].tolist() == [
        7, 3, 1, 0]
    assert len(p) == 2 * 4 + 2        # a and b: 3 terms + year in 2023; a: autumn + year 2024


def test_pupil_reasons_long_table(tiny):
    r = tiny.pupil_reasons.to_pandas()
    assert set(r.columns) == {"pupil_id", "urn", "year", "term", "reason", "marks"}
    a = r[(r.pupil_id == "a") & (r.year == 2023) & (r.term == "autumn")].set_index("reason")["marks"]
    assert a.to_dict() == {"reason_present_am": 1, "reason_present_pm": 1,
                           "reason_i_authorised_illness": 2}
    # the long table adds up to the school table's reason columns
    s = tiny.schools[tiny.schools["period"] != "year"]
    assert r["marks"].sum() == s[reason_columns()].to_numpy().sum()


def test_date_terms_follow_the_package_rule():
    got = date_terms([D(2024, 3, 31), D(2024, 4, 1), D(2023, 12, 31), D(2024, 1, 1),
                      D(2024, 7, 31), D(2024, 8, 1), D(2025, 4, 20), D(2025, 4, 21)])
    assert got[["year", "term"]].values.tolist() == [
        [2023, 1], [2023, 2], [2023, 0], [2023, 1], [2023, 2], [2024, 0], [2024, 1], [2024, 2]]


def test_unknown_and_malformed_are_counted_with_examples():
    rows = [
        ("a", 200, D(2024, 9, 10), "AM", "H"),     # withdrawn in 2024: unknown
        ("a", 200, D(2024, 9, 10), "PM", "H"),
        ("b", 201, D(2023, 10, 2), "AM", "C1"),    # not yet a code in 2023/24: unknown
        ("b", 201, D(2023, 10, 2), "PM", "zz"),    # never a code
        ("b", 201, D(2023, 10, 3), "XX", "/"),     # bad session
        ("b", 201, None, "AM", "/"),               # no date
        ("c", 201, D(2023, 10, 3), "AM", None),    # no code
        ("c", 201, D(2023, 10, 3), "PM", "/"),     # fine
    ]
    df = pd.DataFrame(rows, columns=["pupil_id", "urn", "date", "session", "code"])
    res = register_measures(ibis.memtable(df, schema={"pupil_id": "string", "urn": "int64",
                                                      "date": "date", "session": "string",
                                                      "code": "string"}))
    assert dict(res.marks) == {"read": 8, "counted": 1, "not_counted": 0, "unknown": 4,
                               "malformed": 3}
    u = res.unknown.set_index(["code", "code_set"])
    assert u.loc[("H", "2024"), "marks"] == 2 and u.loc[("H", "2024"), "example_urn"] == 200
    assert u.loc[("H", "2024"), "example_term"] == "autumn"
    assert u.loc[("C1", "pre2024"), "marks"] == 1 and u.loc[("zz", "pre2024"), "marks"] == 1
    mal = res.malformed.set_index("problem")["marks"].to_dict()
    assert mal == {"session not AM or PM": 1, "missing date": 1, "missing code": 1}
    text = res.summary()
    assert "unknown code 'H' (2024 codes): 2 marks" in text and "missing date: 1 marks" in text
    assert res.to_dict()["marks"]["unknown"] == 4


def test_dual_registration_each_school_counts_its_own():
    rows = []
    for day in (4, 5, 6):                          # pupil d: Mon-Wed at school 1, Thu-Fri at 2
        rows += [("d", 1, D(2023, 9, day), s, c) for s, c in (("AM", "/"), ("PM", "I"))]
        rows += [("d", 2, D(2023, 9, day), s, "D") for s in ("AM", "PM")]
    for day in (7, 8):
        rows += [("d", 2, D(2023, 9, day), s, c) for s, c in (("AM", "/"), ("PM", "\\"))]
        rows += [("d", 1, D(2023, 9, day), s, "D") for s in ("AM", "PM")]
    res = register_measures(_marks(rows))
    s = res.schools[res.schools["period"] == "autumn"].set_index("urn")
    assert s.loc[1, ["enrolments", "sess_possible", "sess_overall", "sess_not_counted",
                     "enrolments_pa_50_exact"]].tolist() == [1, 6, 3, 4, 1]
    assert s.loc[2, ["enrolments", "sess_possible", "sess_overall", "sess_not_counted",
                     "enrolments_pa_10_exact"]].tolist() == [1, 4, 0, 6, 0]
    assert res.dual_registered == 1
    tot = res.pupil_totals().to_pandas()
    r = tot[tot["term"] == "autumn"].iloc[0]
    assert (r["schools"], r["sess_possible"], r["sess_overall"], r["pa10"], r["pa50"]) == (2, 10, 3, 1, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_plain_pandas_oracle(seed):
    df = random_marks(4000, seed)
    res = register_measures(ibis.memtable(df))
    want = oracle(df).sort_values(["urn", "year", "period"]).reset_index(drop=True)
    got = res.schools.sort_values(["urn", "year", "period"]).reset_index(drop=True)
    assert len(got) == len(want) > 10
    for c in want.columns:
        if c in ("urn", "year", "period"):
            assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c
        else:
            np.testing.assert_array_equal(got[c].to_numpy(), want[c].to_numpy(), err_msg=c)
    m = res.marks
    assert m["counted"] + m["not_counted"] + m["unknown"] + m["malformed"] == m["read"] == 4000
    assert m["malformed"] == int((df["session"] == "XX").sum())
    assert res.unknown["code"].isin(["F", "??", "H", "J", "Y", "C1", "C2", "J1", "K", "Q",
                                     *[f"Y{k}" for k in range(1, 8)]]).all()


def test_string_and_integer_pupil_ids_agree():
    a = register_measures(ibis.memtable(random_marks(2000, 5))).schools
    b = register_measures(ibis.memtable(random_marks(2000, 5, string_ids=True))).schools
    pd.testing.assert_frame_equal(a, b)


def test_result_accessors(tiny):
    assert tiny.to_frame().equals(tiny.schools)
    d = tiny.to_dict()
    assert d["schools"] == 2 - 1 and d["rows"] == len(tiny.schools)
    assert "Register marks read: 18" in tiny.summary()
    fig = tiny.plot()
    assert fig.axes[0].get_xlabel().startswith("Overall absence rate")
    with pytest.raises(TypeError):
        tiny.marks["read"] = 0        # read-only


def test_missing_column_is_an_input_error():
    from evaluate import InputError

    with pytest.raises(InputError, match="lacks column"):
        register_measures(ibis.memtable({"pupil_id": [1], "urn": [1], "date": [D(2024, 1, 8)],
                                         "code": ["/"]}))


def _repeats_oracle(df: pd.DataFrame) -> tuple[int, int]:
    ok = df[df["session"].isin(["AM", "PM"]) & df["date"].notna() & df["pupil_id"].notna()
            & df["urn"].notna()]
    sizes = ok.groupby(["pupil_id", "urn", "date", "session"]).size()
    return int(sizes[sizes > 1].sum()), int((sizes > 1).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_repeated_marks_are_an_error_counted_as_pandas_counts_them(seed):
    from evaluate import InputError

    df = random_marks(4000, seed, repeats=True)
    n_marks, n_keys = _repeats_oracle(df)
    assert n_keys > 5                                 # the draw has repeats to find
    with pytest.raises(InputError) as err:
        register_measures(ibis.memtable(df))
    msg = str(err.value)
    assert f"{n_marks:,} register marks repeat a pupil, school, date and session ({n_keys:,} " in msg
    ok = df[df["session"].isin(["AM", "PM"]) & df["date"].notna()]
    rep = ok[ok.duplicated(["pupil_id", "urn", "date", "session"], keep=False)]
    first = rep.sort_values(["urn", "date", "session"]).iloc[0]
    assert f"e.g. URN {first['urn']}, {first['date'].isoformat()} {first['session']}" in msg
    assert "--duplicates skip" in msg
    # skip: every mark counted, as the oracle counts them, and the result says it was not checked
    res = register_measures(ibis.memtable(df), duplicates="skip")
    assert res.marks["read"] == 4000 and res.settings["duplicates"] == "not checked"
    assert "repeated marks (same pupil, school, date and session): not checked" in res.summary()
    want = oracle(df).sort_values(["urn", "year", "period"]).reset_index(drop=True)
    got = res.schools.sort_values(["urn", "year", "period"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["sess_possible"].to_numpy(), want["sess_possible"].to_numpy())


def test_what_is_not_a_repeat():
    rows = [("a", 1, D(2023, 9, 4), "AM", "/"), ("a", 1, D(2023, 9, 4), "PM", "/"),   # two sessions
            ("a", 2, D(2023, 9, 4), "AM", "D"),                                     # another school
            ("b", 1, D(2023, 9, 4), "AM", "/"),                                     # another pupil
            ("a", 1, D(2023, 9, 5), "AM", "/"),                                     # another day
            ("a", 1, D(2023, 9, 5), "XX", "/"), ("a", 1, D(2023, 9, 5), "XX", "/")]  # malformed
    res = register_measures(_marks(rows))
    assert res.settings["duplicates"].startswith("checked")
    assert res.marks["read"] == 7 and res.marks["malformed"] == 2


def test_one_repeat_with_another_code_is_found_and_named():
    from evaluate import InputError

    rows = [("a", 100234, D(2024, 2, 29), "PM", "/"), ("b", 100234, D(2024, 2, 29), "PM", "/"),
            ("a", 100234, D(2024, 2, 29), "PM", "O"), ("a", 100234, D(2024, 2, 29), "AM", "/")]
    with pytest.raises(InputError, match=r"2 register marks repeat .* \(1 pupil-sessions .*"
                                         r"e\.g\. URN 100234, 2024-02-29 PM\.") as err:
        register_measures(_marks(rows))
    assert "'a'" not in str(err.value)                # no pupil id in the message
    with pytest.raises(InputError, match="duplicates must be 'error' or 'skip'"):
        register_measures(_marks(rows), duplicates="drop")


def test_the_weekly_screen_misses_no_repeat_at_its_edges():
    from evaluate import InputError
    from evaluate.registers.measures import _repeated_marks

    week = [D(2024, 1, 1) + dt.timedelta(days=k) for k in range(7)]          # Monday to Sunday
    full = [("a", 1, d, s, "/") for d in week for s in ("AM", "PM")]          # 14 marks, no repeat
    assert register_measures(_marks(full)).marks["read"] == 14
    cases = {"Sunday PM twice, 14 marks": full[1:] + [("a", 1, week[6], "PM", "O")],
             "16 copies of one session (a nibble would carry)": [("a", 1, week[2], "AM", "/")] * 16,
             "15 marks, one repeat across weeks' edge": full[1:] + [("a", 1, week[0] - dt.timedelta(days=1),
                                                                      "PM", "/")] * 2}
    for name, rows in cases.items():
        with pytest.raises(InputError, match="register marks repeat"):
            register_measures(_marks(rows))
        df = pd.DataFrame(rows, columns=["pupil_id", "urn", "date", "session", "code"])
        by_date = df.groupby("date").size().rename("n").reset_index()
        assert _repeated_marks(ibis.memtable(df), by_date)[:2] == _repeats_oracle(df), name


@pytest.mark.parametrize("chunk", [50, 400, 10**9])
def test_the_check_in_runs_of_dates_counts_what_one_pass_counts(chunk):
    from evaluate.registers.measures import _repeated_marks

    df = random_marks(3000, 11, repeats=True)
    ok = df[df["date"].notna()]
    by_date = ok.groupby("date").size().rename("n").reset_index()
    got = _repeated_marks(ibis.memtable(df), by_date, chunk)
    assert got[:2] == _repeats_oracle(df) and got[1] > 5
    rep = ok[ok["session"].isin(["AM", "PM"]) & ok.duplicated(["pupil_id", "urn", "date", "session"], keep=False)]
    first = rep.sort_values(["urn", "date", "session"]).iloc[0]
    assert got[2][0] == (first["urn"], first["date"], first["session"])


def test_marks_without_any_date_are_all_malformed():
    df = pd.DataFrame({"pupil_id": ["a", "b"], "urn": [1, 1], "date": [None, None],
                       "session": ["AM", "PM"], "code": ["/", "/"]})
    res = register_measures(ibis.memtable(df, schema={"pupil_id": "string", "urn": "int64", "date": "date",
                                                      "session": "string", "code": "string"}))
    assert dict(res.marks) == {"read": 2, "counted": 0, "not_counted": 0, "unknown": 0, "malformed": 2}
