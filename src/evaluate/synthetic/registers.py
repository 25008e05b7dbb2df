"""Synthetic daily registers: one mark per pupil per session, written as Parquet in chunks.

The schools, URNs, enrolments and school absence effects are synthetic England's
(:func:`evaluate.synthetic.generate` with the same ``seed`` and ``n_schools`` builds the
same country), and each pupil's propensity to miss a session is drawn as the
school-level generator draws it (:mod:`evaluate.synthetic.absence`: logit-normal around
the school's effect, calibrated to DfE's national figures, with the severe-absence
component; no programme effects). So the register's school-term absence has the same
distribution as the published synthetic files (not the same draws).

Per pupil and session, one uniform number decides the mark: absent with the pupil's
propensity; an absence is unauthorised with the school's share (as in
:func:`evaluate.synthetic.absence.simulate_year`) and gets a reason code by fixed
shares; a present mark is ``L`` or ``B`` now and then, else ``/`` (morning) or ``\\``
(afternoon). About 7% of pupils join part-way through the year: their sessions before
joining are ``Z`` (not on roll). Codes follow the year's code set (2024/25 onward:
``C1``, ``C2``, ``K`` ... and no ``H``).

Calendar: weekdays from the first Monday on or after 2 September to 20 December, 6
January to the Thursday before Easter, Easter Monday + 7 days to 20 July, without the
half-term weeks (the weeks of 26 October, 16 February and 28 May); about 195 days
(390 sessions; DfE counts about 380).

Files: ``out/academic_year=YYYY/part-NNNNN.parquet`` with columns ``pupil_id``
(int64), ``urn`` (int64), ``date`` (date32), ``session`` and ``code`` (dictionary
strings), written chunk by chunk (``chunk_marks`` marks at a time), so memory stays
bounded whatever the size. Same seed and arguments, same files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = ["AUTHORISED_SHARES", "UNAUTHORISED_SHARES", "school_calendar", "school_details",
           "write_registers"]

#: Authorised absence reasons and their shares, by code set.
AUTHORISED_SHARES: dict[str, dict[str, float]] = {
    "pre2024": {"I": 0.62, "M": 0.10, "C": 0.12, "E": 0.02, "R": 0.02, "H": 0.04, "S": 0.02,
                "T": 0.01, "J": 0.0},
    "2024": {"I": 0.62, "M": 0.10, "C": 0.10, "C1": 0.01, "C2": 0.03, "E": 0.02, "R": 0.02,
             "J1": 0.02, "S": 0.02, "T": 0.01},
}
#: Unauthorised absence reasons and their shares.
UNAUTHORISED_SHARES: dict[str, float] = {"O": 0.60, "G": 0.18, "N": 0.14, "U": 0.08}
#: Shares of present marks that are ``L`` (late before registers closed) and ``B``.
LATE_SHARE, OFFSITE_SHARE = 0.02, 0.005


def _easter(year: int) -> dt.date:
    from evaluate.data.programmes import easter

    return easter(year)


def school_calendar(year: int) -> list[dt.date]:
    """The school days of academic year ``year`` (see the module docstring).

    Examples
    --------
    >>> from evaluate.synthetic.registers import school_calendar
    >>> days = school_calendar(2023)
    >>> len(days), str(days[0]), str(days[-1])
    (197, '2023-09-04', '2024-07-19')
    """
    def weekdays(a: dt.date, b: dt.date) -> list[dt.date]:
        return [a + dt.timedelta(k) for k in range((b - a).days + 1)
                if (a + dt.timedelta(k)).weekday() < 5]

    def week_of(d: dt.date) -> set[dt.date]:
        monday = d - dt.timedelta(d.weekday())
        return {monday + dt.timedelta(k) for k in range(5)}

    start = dt.date(year, 9, 2)
    start += dt.timedelta((7 - start.weekday()) % 7)
    sunday = _easter(year + 1)
    days = (weekdays(start, dt.date(year, 12, 20))
            + weekdays(dt.date(year + 1, 1, 6), sunday - dt.timedelta(3))
            + weekdays(sunday + dt.timedelta(8), dt.date(year + 1, 7, 20)))
    off = (week_of(dt.date(year, 10, 26)) | week_of(dt.date(year + 1, 2, 16))
           | week_of(dt.date(year + 1, 5, 28)))
    return [d for d in days if d not in off]


def school_details(n_schools: int | None = None, *, seed: int = 20240901,
                   year: int = 2023) -> pd.DataFrame:
    """EES school details (URN, LA, region, phase) of the schools open in ``year``.

    For :meth:`evaluate.registers.RegisterMeasures.to_ees` (``schools=``).

    Examples
    --------
    >>> from evaluate.synthetic.registers import school_details
    >>> d = school_details(50, seed=1)
    >>> list(d.columns[:3]), len(d) > 40
    (['school_urn', 'region_code', 'region_name'], True)
    """
    country = _country(seed, n_schools)
    from evaluate.synthetic.england import FIRST_YEAR, PHASE_LABEL

    t = year - FIRST_YEAR
    sites = np.flatnonzero(country.enrol[:, t] > 0)
    s = country.sites
    est = country.establishments.set_index("urn")
    urn = country.urn[sites, t]
    return pd.DataFrame({
        "school_urn": urn.astype("int64"),
        "region_code": s["region_code"].to_numpy()[sites],
        "region_name": s["region_name"].to_numpy()[sites],
        "old_la_code": s["old_la_code"].to_numpy()[sites],
        "new_la_code": s["new_la_code"].to_numpy()[sites],
        "la_name": s["la_name"].to_numpy()[sites],
        "school_laestab": [f"{la}{no}" for la, no in zip(
            s["old_la_code"].to_numpy()[sites], est.loc[urn, "estab_no"].to_numpy(), strict=True)],
        "school_name": est.loc[urn, "name"].to_numpy(),
        "education_phase": [PHASE_LABEL[p] for p in s["phase"].to_numpy()[sites]],
    })


def _country(seed: int, n_schools: int | None):
    from evaluate.synthetic import england

    s_country, _, _ = np.random.SeedSequence(seed).spawn(3)  # as evaluate.synthetic.generate
    return england.build(np.random.default_rng(s_country), n_schools)


def write_registers(out: str | Path, *, seed: int = 20240901, n_schools: int | None = None,
                    years: Sequence[int] = (2023,), max_marks: int | None = None,
                    chunk_marks: int = 10_000_000, order: str = "pupil",
                    progress: Callable[[int], None] | None = None) -> dict:
    """Write synthetic register marks for synthetic England as Parquet parts.

    Parameters
    ----------
    out
        Folder to write ``academic_year=YYYY/part-NNNNN.parquet`` under.
    seed, n_schools
        As :func:`evaluate.synthetic.generate` (same schools, URNs and enrolments).
    years
        Academic years (start years) to write, 2016 to 2024.
    max_marks
        Stop after about this many marks in total (whole pupils; schools in a random
        order fixed by the seed, so a smaller size is a subset of the schools).
    chunk_marks
        Marks generated and written at a time (memory is about 40 bytes per mark).
    order
        Row order inside each part: ``'pupil'`` (each pupil's marks together) or
        ``'date'`` (each session's marks for all the part's pupils together, as a daily
        extract would be).
    progress
        Called with the number of marks written so far after every part.

    Returns
    -------
    dict
        ``marks``, ``files``, ``pupils``, ``schools`` and ``truth``: a frame of the
        school x year x term totals computed while generating (``urn, year, term,
        sess_possible, sess_overall, sess_authorised, sess_unauthorised, marks``), an
        independent check on the registers stage.

    Examples
    --------
    >>> import tempfile
    >>> from evaluate.synthetic.registers import write_registers
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     info = write_registers(folder, seed=1, n_schools=50, max_marks=100_000)
    >>> info["marks"] >= 100_000, info["marks"] % 394 == 0
    (True, True)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from evaluate.registers.codes import code_set_of_year
    from evaluate.synthetic import absence
    from evaluate.synthetic import calibration as cal
    from evaluate.synthetic.england import FIRST_YEAR

    if order not in ("pupil", "date"):
        raise ValueError(f"order must be 'pupil' or 'date', not {order!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    country = _country(seed, n_schools)
    rng_root = np.random.SeedSequence([seed, 7])
    total = 0
    files: list[str] = []
    truth: list[pd.DataFrame] = []
    n_pupils = 0
    schools_used: set[int] = set()
    for year in years:
        if year not in absence.PUBLISHED_YEARS:
            raise ValueError(f"year {year} has no synthetic absence (known: {sorted(absence.PUBLISHED_YEARS)})")
        cset = code_set_of_year(year)
        days = school_calendar(year)
        n_days = len(days)
        S = 2 * n_days  # noqa: N806
        date32 = np.repeat(np.array([(d - dt.date(1970, 1, 1)).days for d in days], np.int32), 2)
        sess_idx = np.tile(np.array([0, 1], np.int8), n_days)
        term_of_day = np.array([0 if d.month >= 8 else 1 if d <= _easter(year + 1) else 2
                                for d in days], np.int8)
        term_of_sess = np.repeat(term_of_day, 2)
        auth = AUTHORISED_SHARES[cset]
        codes = ["/", "\\", "L", "B", "Z", *UNAUTHORISED_SHARES, *[c for c in auth if auth[c] > 0]]
        code_id = {c: i for i, c in enumerate(codes)}
        u_cum = np.cumsum(list(UNAUTHORISED_SHARES.values()))
        a_keys = [c for c in auth if auth[c] > 0]
        a_cum = np.cumsum([auth[c] for c in a_keys])
        a_cum /= a_cum[-1]
        u_ids = np.array([code_id[c] for c in UNAUTHORISED_SHARES], np.int8)
        a_ids = np.array([code_id[c] for c in a_keys], np.int8)
        code_dict = pa.array(codes, pa.string())
        sess_dict = pa.array(["AM", "PM"], pa.string())

        t = year - FIRST_YEAR
        params = absence.pupil_params(country, year)
        yrng = np.random.default_rng(rng_root.spawn(len(years))[list(years).index(year)])
        sites = np.flatnonzero(country.enrol[:, t] > 0)
        sites = sites[yrng.permutation(len(sites))]
        phase = country.sites["phase"].to_numpy()
        fsm = country.sites["fsm"].to_numpy()
        folder = out / f"academic_year={year}"
        folder.mkdir(parents=True, exist_ok=True)
        part = 0
        pos = 0
        while pos < len(sites):
            if max_marks is not None and total >= max_marks:
                break
            # a chunk of whole schools of about chunk_marks marks
            enrol = country.enrol[sites[pos:], t]
            k = int(np.searchsorted(np.cumsum(enrol) * S, chunk_marks, side="left")) + 1
            chunk = sites[pos:pos + k]
            pos += len(chunk)
            n_j = country.enrol[chunk, t].astype(np.int64)
            if max_marks is not None and total + n_j.sum() * S > max_marks:
                need = -(-(max_marks - total) // S)
                cum = np.cumsum(n_j)
                last = int(np.searchsorted(cum, need))
                n_j = n_j[:last + 1].copy()
                n_j[-1] -= int(cum[last] - need)
                chunk = chunk[:last + 1]
            m = len(chunk)
            school = np.repeat(np.arange(m), n_j)
            P = school.size  # noqa: N806
            ph = phase[chunk]
            s_j = country.s[chunk, t]
            a_j = np.empty(m)
            sd_j = np.empty(m)
            pi_j = np.empty(m)
            for p, prm in params.items():
                sel = ph == p
                a_j[sel] = prm.intercept
                sd_j[sel] = prm.sd
                norm = np.exp(cal.SEVERE_KAPPA**2 * prm.s_var / 2)
                pi_j[sel] = prm.severe_share * np.exp(cal.SEVERE_KAPPA * (s_j[sel] - prm.s_mean)) / norm
            pi_j = np.clip(pi_j, 0, 0.95)
            z = yrng.standard_normal(P)
            severe = yrng.random(P) < pi_j[school]
            logit = np.where(severe, cal.SEVERE_MEAN + cal.SEVERE_SD * z,
                             (a_j + s_j)[school] + sd_j[school] * z)
            p0 = expit(logit).astype(np.float32)
            q = 0.27 + 0.004 * (fsm[chunk] - 22) + np.select(
                [ph == "ap", ph == "special"], [0.15, -0.05], 0.0)
            q = np.clip(q + yrng.normal(0, 0.05, m), 0.02, 0.9).astype(np.float32)
            joined = np.zeros(P, np.int64)
            mob = yrng.random(P) < cal.MOBILE_SHARE
            frac = yrng.uniform(*cal.MOBILE_RANGE, P)
            joined[mob] = (S - np.rint(S * frac[mob])).astype(np.int64)

            u = yrng.random((P, S), dtype=np.float32)
            pp = p0[:, None]
            absent = u < pp
            w = np.where(absent, u / pp, (u - pp) / (1 - pp))  # uniform again, given the branch
            code = np.where(sess_idx[None, :] == 0, code_id["/"], code_id["\\"]).astype(np.int8)
            code = np.broadcast_to(code, (P, S)).copy()
            code[(~absent) & (w < LATE_SHARE)] = code_id["L"]
            code[(~absent) & (w >= LATE_SHARE) & (w < LATE_SHARE + OFFSITE_SHARE)] = code_id["B"]
            qq = q[school][:, None]
            unauth = absent & (w < qq)
            autho = absent & ~unauth
            wu = np.where(unauth, w / qq, 0)
            wa = np.where(autho, (w - qq) / (1 - qq), 0)
            code[unauth] = u_ids[np.minimum(np.searchsorted(u_cum, wu[unauth], side="right"),
                                            len(u_ids) - 1)]
            code[autho] = a_ids[np.minimum(np.searchsorted(a_cum, wa[autho], side="right"),
                                           len(a_ids) - 1)]
            del w, wu, wa, u
            off_roll = np.arange(S)[None, :] < joined[:, None]
            code[off_roll] = code_id["Z"]
            absent &= ~off_roll
            unauth &= ~off_roll
            on = ~off_roll

            urn = country.urn[chunk, t].astype(np.int64)
            pid = (chunk.astype(np.int64) + 1)[school] * 100_000 + (
                np.arange(P) - np.repeat(np.cumsum(n_j) - n_j, n_j))
            # truth: school x term totals from the arrays
            rows = []
            for term in range(3):
                cols = term_of_sess == term
                rows.append(pd.DataFrame({
                    "urn": urn, "year": year, "term": ("autumn", "spring", "summer")[term],
                    "sess_possible": np.bincount(school, on[:, cols].sum(1), m).astype(np.int64),
                    "sess_overall": np.bincount(school, absent[:, cols].sum(1), m).astype(np.int64),
                    "sess_unauthorised": np.bincount(school, unauth[:, cols].sum(1), m).astype(np.int64),
                    "marks": np.bincount(school, np.full(P, cols.sum()), m).astype(np.int64),
                }))
            tr = pd.concat(rows, ignore_index=True)
            tr["sess_authorised"] = tr["sess_overall"] - tr["sess_unauthorised"]
            truth.append(tr)
            del absent, unauth, on, off_roll

            n = P * S
            if order == "pupil":
                cols = (np.repeat(pid, S), np.repeat(urn[school], S), np.tile(date32, P),
                        np.tile(sess_idx, P), code.ravel())
            else:  # date-major: every pupil's morning mark, then every afternoon mark, ...
                cols = (np.tile(pid, S), np.tile(urn[school], S), np.repeat(date32, P),
                        np.repeat(sess_idx, P), code.T.ravel())
            table = pa.table({
                "pupil_id": pa.array(cols[0]),
                "urn": pa.array(cols[1]),
                "date": pa.array(cols[2], pa.date32()),
                "session": pa.DictionaryArray.from_arrays(pa.array(cols[3]), sess_dict),
                "code": pa.DictionaryArray.from_arrays(pa.array(cols[4]), code_dict),
            })
            del cols
            del code
            name = folder / f"part-{part:05d}.parquet"
            pq.write_table(table, name, compression="snappy", row_group_size=1 << 20)
            del table
            files.append(name.relative_to(out).as_posix())
            part += 1
            total += n
            n_pupils += P
            schools_used.update(int(x) for x in urn)
            if progress is not None:
                progress(total)
    tr = pd.concat(truth, ignore_index=True) if truth else pd.DataFrame()
    if len(tr):
        tr = tr.groupby(["urn", "year", "term"], as_index=False, sort=True).sum()
    return {"marks": int(total), "files": files, "pupils": int(n_pupils),
            "schools": len(schools_used), "truth": tr}
