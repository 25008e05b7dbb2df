"""Who joins which programme, when, and how strongly it acts (the true effects).

Attendance hubs select their members (not at random): schools with high prior absence
and persistent absence, high FSM and in priority areas are more likely to join; lead
schools have low absence. Attendance mentors cover whole LAs, or one town of an LA.

Exposure of a term to a programme that starts on date ``d`` is the share of the term's
days on or after ``d``. Terms follow DfE's census: autumn 1 August to 31 December,
spring 1 January to Easter Sunday, summer Easter Monday to 31 July. No sessions happen in
August, so the autumn term's exposed share is measured from 1 September (a start on
1 September exposes the whole autumn term). The *cohort* of a school is defined once,
by :func:`evaluate.data.programmes.cohort_of` (default rule ``mostly_exposed``: the first
academic year at least 75% exposed); the year containing the start date is its *first
exposed year*.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.easter import easter

from evaluate.data.programmes import cohort_of as data_cohort_of
from evaluate.synthetic.areas import MENTOR_AREAS, MENTOR_PROVIDER  # noqa: E402,F401 - re-exported
from evaluate.synthetic.england import FIRST_YEAR, FULL_TOTAL, LAST_YEAR, PANEL_YEARS, Country
from evaluate.synthetic.scenario import DEFAULT_SCENARIO, Scenario


@dataclass(frozen=True)
class Wave:
    """One wave of attendance hubs."""

    name: str
    n_hubs: int
    n_members: int  # full country, leads included
    first_join: str
    last_join: str
    phases: tuple[str, ...]
    base_effect: float  # logit reduction of every pupil's propensity, first year, secondary


HUB_WAVES: tuple[Wave, ...] = (
    Wave("pilot", 1, 60, "2022-04-25", "2022-07-15", ("secondary",), 0.10),
    Wave("wave 1", 9, 520, "2023-06-01", "2023-06-30", ("primary", "secondary", "special", "ap"), 0.08),
    Wave("wave 2", 4, 220, "2023-10-02", "2023-10-31", ("primary", "secondary", "special", "ap"), 0.06),
    Wave("wave 3", 18, 1200, "2024-01-08", "2024-04-26", ("primary", "secondary", "special", "ap"), 0.05),
)
#: Named lead schools (public), placed in their LA when a school of that phase exists there.
NAMED_LEADS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "wave 2": (("St Giles Special School", "Nottingham", "special"),
               ("John Whitgift Academy", "North East Lincolnshire", "secondary"),
               ("Ridgeway School and Sixth Form", "Swindon", "secondary"),
               ("The Croft Primary School", "Swindon", "primary")),
    "wave 3": (("The Beacon CofE Primary School", "Liverpool", "primary"),
               ("Wright Robinson College", "Manchester", "secondary")),
}
#: Effect multipliers by phase (hubs act most in secondary and AP).
HUB_PHASE_MULT = {"primary": 0.7, "secondary": 1.0, "special": 0.8, "ap": 1.3}
MENTOR_PHASE_MULT = {"primary": 0.8, "secondary": 1.0, "special": 0.6, "ap": 0.5}
#: Effects grow by this share of the first-year effect per year of exposure, up to a cap.
GROWTH_PER_YEAR = 0.6
GROWTH_CAP = 2.5
#: Mentoring: pupils with a yearly propensity of at least this are eligible; a share of
#: them is mentored; a mentored pupil's logit propensity falls by the area's base effect.
MENTOR_ELIGIBLE_P = 0.10
MENTOR_SHARE = 0.35
MENTOR_BASE = {"2022-11-01": 0.45, "2023-09-01": 0.40, "2025-03-01": 0.35}
#: Pupils mentored a year in one area at full scale (``shared/data/programmes.md``: about
#: 1,665 pupils over three years in the first five areas; 10,000 over three years in the
#: ten expansion areas). The share of an area's pupils mentored each year is this divided
#: by the area's pupils (at full scale), about 0.3% in the first areas and 1% to 2% in the
#: expansion: the effect on whole-area absence is small, as the real programme's must be.
MENTORED_PER_AREA_YEAR = {"2022-11-01": 1665 / 3 / 5, "2023-09-01": 1665 / 3 / 5, "2025-03-01": 10000 / 3 / 10}
#: Effects without heterogeneity (``Scenario(heterogeneity=False)``): the same logit
#: reduction in every wave, phase and year of exposure (about the default's averages).
CONSTANT_HUB_EFFECT = 0.08
CONSTANT_MENTOR_EFFECT = 0.40


def term_windows(year: int) -> list[tuple[dt.date, dt.date]]:
    """Exposure windows of the three terms of academic ``year`` (autumn from 1 September)."""
    e = easter(year + 1)
    return [(dt.date(year, 9, 1), dt.date(year, 12, 31)),
            (dt.date(year + 1, 1, 1), e),
            (e + dt.timedelta(days=1), dt.date(year + 1, 7, 31))]


def exposure(start: dt.date) -> np.ndarray:
    """Exposed share of each term, ``shape (n_panel_years, 3)``, for a start date."""
    out = np.zeros((len(PANEL_YEARS), 3))
    for t, y in enumerate(PANEL_YEARS):
        for k, (a, b) in enumerate(term_windows(y)):
            days = (b - a).days + 1
            out[t, k] = min(max((b - max(start, a)).days + 1, 0), days) / days
    return out


def cohort_of(start: dt.date) -> tuple[int, int]:
    """(first exposed academic year, cohort) by the package's one cohort definition.

    Delegates to :func:`evaluate.data.programmes.cohort_of` with its default rule
    (``mostly_exposed``), so ``truth.json`` and the analysis panel agree on cohorts.
    """
    cohort, first = data_cohort_of(start)
    return first, cohort


def effect_path(share: np.ndarray) -> np.ndarray:
    """Growth multiplier for each term from the cumulative exposure before its middle."""
    flat = share.reshape(-1)
    cum_years = (np.cumsum(flat) - flat / 2) / 3
    return np.minimum(1 + GROWTH_PER_YEAR * cum_years, GROWTH_CAP).reshape(share.shape)


@dataclass
class Programmes:
    """Programme membership and the per-term effects it implies."""

    hubs: pd.DataFrame  # hubs.csv rows (+ site)
    mentor_areas: pd.DataFrame
    priority_areas: pd.DataFrame
    #: per site: programme, wave, start date, first exposed year, cohort
    hub_sites: pd.DataFrame
    mentor_sites: pd.DataFrame
    #: ``hub_delta[site, year_index, term]``: logit reduction for every pupil
    hub_delta: np.ndarray
    #: ``mentor_delta[site, year_index, term]``: logit reduction for mentored pupils
    mentor_delta: np.ndarray
    #: per site: the unobserved downward trend in absence, percentage points a year
    #: (``None`` when the scenario has none)
    trend: np.ndarray | None = None
    #: the world these programmes belong to
    scenario: Scenario = DEFAULT_SCENARIO
    #: per site: the share of its pupils mentored in a year (0 outside mentor areas)
    mentored_share: np.ndarray | None = None


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def _date_between(rng: np.random.Generator, a: str, b: str, n: int) -> list[dt.date]:
    d0, d1 = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    days = rng.integers(0, (d1 - d0).days + 1, n)
    out = [d0 + dt.timedelta(days=int(k)) for k in days]
    return [d + dt.timedelta(days=2) if d.weekday() == 5 else d + dt.timedelta(days=1)
            if d.weekday() == 6 else d for d in out]


def _urn_at(country: Country, site: int, date: dt.date) -> int:
    y = date.year if date >= dt.date(date.year, 8, 1) else date.year - 1
    return int(country.urn[site, min(max(y, FIRST_YEAR), LAST_YEAR) - FIRST_YEAR])


def _rename(country: Country, site: int, name: str) -> None:
    est = country.establishments
    mask = est["site"] == site
    est.loc[mask, "name"] = name
    for u in est.loc[mask, "urn"]:
        country.links.loc[country.links["LinkURN"] == u, "LinkName"] = name


def select(rng: np.random.Generator, country: Country, n_schools: int | None,
           scenario: Scenario = DEFAULT_SCENARIO) -> Programmes:
    """Choose hub leads and members, mentor areas, and compute per-term effects.

    ``scenario`` scales the selection and the effects, removes their heterogeneity or adds
    an unobserved trend (:mod:`evaluate.synthetic.scenario`); the default draws exactly as
    before it existed.
    """
    sel = scenario.selection_scale
    sites = country.sites
    n = len(sites)
    scale = 1.0 if n_schools is None else n_schools / FULL_TOTAL
    phase = sites["phase"].to_numpy()
    eligible = (sites["open_year"].to_numpy() <= 2020) & (sites["close_year"].to_numpy() > LAST_YEAR)
    taken = np.zeros(n, dtype=bool)
    fsm_z = _z(sites["fsm"].to_numpy())
    prio = sites["priority"].to_numpy().astype(float)
    region = sites["gor_name"].to_numpy()
    la_name = sites["la_name"].to_numpy()
    hub_sites = []
    hub_no = 0
    pilot_lead = int(country.extra["pilot_lead"])
    for wave in HUB_WAVES:
        first_join = dt.date.fromisoformat(wave.first_join)
        t_prev = cohort_of(first_join)[0] - 1 - FIRST_YEAR  # the year before joining
        s_prev = country.s[:, t_prev]
        in_phase = np.isin(phase, wave.phases)
        n_hubs = wave.n_hubs if n_schools is None else max(1, int(round(wave.n_hubs * scale)))
        n_members = max(2 * n_hubs, int(round(wave.n_members * scale)))
        # leads: low absence
        leads: list[int] = []
        if wave.name == "pilot":
            leads = [pilot_lead]
        else:
            for name, la, ph in NAMED_LEADS.get(wave.name, ())[:n_hubs]:
                cand = np.flatnonzero(eligible & ~taken & (la_name == la) & (phase == ph))
                if len(cand):
                    lead = int(cand[np.argmin(s_prev[cand])])
                    _rename(country, lead, name)
                    leads.append(lead)
                    taken[lead] = True
            wanted: list[str | None] = [None] * n_hubs
            if wave.name == "wave 1" and n_hubs >= 3:
                wanted[-2:] = ["ap", "ap"]  # two alternative-provision trusts lead hubs
            for want in wanted[len(leads):]:
                ok = eligible & ~taken & (np.isin(phase, ("primary", "secondary")) if want is None
                                          else phase == want)
                cand = np.flatnonzero(ok)
                w = np.exp(-3 * _z(s_prev[cand]) * sel)
                lead = int(rng.choice(cand, p=w / w.sum()))
                leads.append(lead)
                taken[lead] = True
        taken[leads] = True
        # members: selected on prior absence, FSM and priority area
        pool = np.flatnonzero(eligible & ~taken & in_phase)
        if wave.name == "pilot":
            pool = pool[phase[pool] == "secondary"]
        zs = _z(s_prev[pool])
        score = 1.2 * zs + 0.4 * fsm_z[pool] + 0.6 * prio[pool]
        if wave.name == "pilot":
            score = score + 1.0 * (region[pool] == "North East")
        w = np.exp(score * sel)
        k = min(n_members - len(leads), len(pool))
        members = rng.choice(pool, size=k, replace=False, p=w / w.sum())
        taken[members] = True
        hub_ids = [f"H{hub_no + j:02d}" for j in range(len(leads))]
        lead_region = region[leads]
        dates = _date_between(rng, wave.first_join, wave.last_join, len(members))
        for j, lead in enumerate(leads):
            d = first_join
            hub_sites.append((lead, hub_ids[j], wave.name, d, lead))
        for m, d in zip(members, dates, strict=True):
            same = np.flatnonzero(lead_region == region[m])
            j = int(rng.choice(same)) if len(same) and rng.random() < 0.6 else int(rng.integers(len(leads)))
            hub_sites.append((int(m), hub_ids[j], wave.name, d, leads[j]))
        hub_no += len(leads)

    est_name = dict(zip(country.establishments["urn"], country.establishments["name"], strict=True))
    hs = pd.DataFrame(hub_sites, columns=["site", "hub_id", "wave", "join_date", "lead_site"])
    lead_join = hs[hs["site"] == hs["lead_site"]].set_index("hub_id")["join_date"]
    hs["lead_urn"] = [_urn_at(country, int(ls), lead_join[h]) for ls, h in zip(hs["lead_site"], hs["hub_id"], strict=True)]
    hs["member_urn"] = [_urn_at(country, int(s), d) for s, d in zip(hs["site"], hs["join_date"], strict=True)]
    hs["hub_name"] = [f"{est_name[u]} Attendance Hub" for u in hs["lead_urn"]]
    fe = [cohort_of(d) for d in hs["join_date"]]
    hs["first_exposed_year"] = [f for f, _ in fe]
    hs["cohort"] = [c for _, c in fe]
    hs = hs.sort_values(["hub_id", "join_date", "member_urn"], kind="stable").reset_index(drop=True)
    hubs = hs[["hub_id", "lead_urn", "member_urn", "join_date", "hub_name", "wave"]].copy()
    hubs["join_date"] = [d.isoformat() for d in hubs["join_date"]]

    ny = len(PANEL_YEARS)
    hub_delta = np.zeros((n, ny, 3), dtype=np.float32)
    base = {w.name: w.base_effect for w in HUB_WAVES}
    for site, wave, d in zip(hs["site"], hs["wave"], hs["join_date"], strict=True):
        share = exposure(d)
        if scenario.heterogeneity:
            hub_delta[site] = base[wave] * HUB_PHASE_MULT[phase[site]] * effect_path(share) * share
        else:
            hub_delta[site] = CONSTANT_HUB_EFFECT * share

    # mentors
    las = country.las.set_index("la_name")
    ma = pd.DataFrame([{
        "new_la_code": las.at[la, "new_la_code"], "la_name": la, "start_date": start,
        "area": area, "announced_date": ann, "coverage": cov, "provider": MENTOR_PROVIDER[start],
    } for la, start, ann, cov, area in MENTOR_AREAS])
    mentor_delta = np.zeros((n, ny, 3), dtype=np.float32)
    town = sites["town"].to_numpy()
    ms = []
    mentored_share = np.zeros(n)
    for la, start, _ann, cov, area in MENTOR_AREAS:
        covered = (la_name == la) & ((town == area) if cov == "partial" else True)
        d = dt.date.fromisoformat(start)
        t_start = min(max(cohort_of(d)[0], FIRST_YEAR), LAST_YEAR) - FIRST_YEAR
        area_pupils = float(country.enrol[covered, t_start].sum()) / scale
        if area_pupils > 0:
            mentored_share[covered] = min(1.0, MENTORED_PER_AREA_YEAR[start] / area_pupils)
        share = exposure(d)
        path = (effect_path(share) * share * MENTOR_BASE[start] if scenario.heterogeneity
                else share * CONSTANT_MENTOR_EFFECT)
        f, c = cohort_of(d)
        for site in np.flatnonzero(covered):
            mentor_delta[site] = path * (MENTOR_PHASE_MULT[phase[site]] if scenario.heterogeneity else 1.0)
            ms.append((int(site), la, area, d, f, c))
    mentor_sites = pd.DataFrame(ms, columns=["site", "la_name", "area", "start_date", "first_exposed_year", "cohort"])
    pa = country.las[country.las["la_name"].isin(_priority_names())][["new_la_code", "la_name"]]
    if scenario.effect_scale != 1.0:
        hub_delta *= np.float32(scenario.effect_scale)
        mentor_delta *= np.float32(scenario.effect_scale)
    trend = None
    if scenario.unobserved_trend != 0.0:
        trend = np.zeros(n)
        trend[hs["site"].to_numpy(dtype=int)] = scenario.unobserved_trend
        trend[mentor_sites["site"].to_numpy(dtype=int)] = scenario.unobserved_trend
    return Programmes(hubs=hubs, mentor_areas=ma, priority_areas=pa.reset_index(drop=True),
                      hub_sites=hs, mentor_sites=mentor_sites, hub_delta=hub_delta,
                      mentor_delta=mentor_delta, trend=trend, scenario=scenario, mentored_share=mentored_share)


def _priority_names() -> tuple[str, ...]:
    from evaluate.synthetic.areas import PRIORITY_LAS

    return PRIORITY_LAS
