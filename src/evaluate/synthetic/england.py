"""Schools and local authorities of synthetic England, and their establishment history.

A *site* is one school followed through the panel (what the data layer calls
``school_id``); an *establishment* is one GIAS record with its own URN. A site has one
establishment, or several when it converts to an academy or absorbs a merger (each
change closes the old URN on 31 August and opens a new one on 1 September).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from evaluate.synthetic.areas import MENTOR_AREAS, PRIORITY_LAS  # noqa: F401 - re-exported

PHASES: tuple[str, ...] = ("primary", "secondary", "special", "ap")
PHASE_LABEL: dict[str, str] = {
    "primary": "State-funded primary",
    "secondary": "State-funded secondary",
    "special": "Special",
    "ap": "State-funded AP school",
}
#: Full-country counts of schools open in the panel, by phase.
FULL_COUNTS: dict[str, int] = {"primary": 16_800, "secondary": 3_450, "special": 1_000, "ap": 300}
FULL_TOTAL = sum(FULL_COUNTS.values())
#: Academic years of the panel (start year); 2019/20 is simulated but never published.
PANEL_YEARS: tuple[int, ...] = tuple(range(2016, 2025))
FIRST_YEAR, LAST_YEAR = PANEL_YEARS[0], PANEL_YEARS[-1]

#: Towns of the partial mentor areas, the share of the LA's schools in them, other towns.
PARTIAL_TOWNS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "East Sussex": ("Hastings", 0.15, ("Eastbourne", "Lewes", "Bexhill-on-Sea", "Crowborough")),
    "Suffolk": ("Ipswich", 0.2, ("Lowestoft", "Bury St Edmunds", "Felixstowe", "Sudbury")),
    "Norfolk": ("Norwich", 0.2, ("King's Lynn", "Great Yarmouth", "Thetford", "Dereham")),
    "Somerset": ("West Somerset", 0.08, ("Taunton", "Yeovil", "Bridgwater", "Frome")),
}
PILOT_LA = "Stockton-on-Tees"

_REGION_FSM = {  # mean % FSM by region (London parts by london_part)
    "North East": 27, "North West": 25, "Yorkshire and The Humber": 23, "East Midlands": 21,
    "West Midlands": 25, "East of England": 17, "Inner London": 33, "Outer London": 22,
    "South East": 16, "South West": 17,
}
_REGION_EFFECT = {  # logit shift of absence by region
    "North East": 0.14, "North West": 0.06, "Yorkshire and The Humber": 0.06,
    "East Midlands": 0.0, "West Midlands": 0.0, "East of England": -0.02,
    "Inner London": -0.32, "Outer London": -0.24, "South East": -0.02, "South West": 0.03,
}
FSM_SLOPE = 0.015  # logit per FSM percentage point
SCHOOL_SD = 0.22
SHOCK_SD = 0.15
SHOCK_RHO = 0.5
_SIZE = {"primary": (280, 0.45), "secondary": (950, 0.35), "special": (120, 0.45), "ap": (45, 0.5)}
_ACADEMY_2016 = {"primary": 0.28, "secondary": 0.68, "special": 0.3, "ap": 0.35}
CONVERT_SHARE = 0.10
OPEN_SHARE = 0.03
CLOSE_SHARE = 0.025
MERGE_SHARE = 0.004

_STEMS = (
    "Oakfield", "Riverside", "Meadow", "Hillside", "Park", "Brookside", "Elmwood", "Ashgrove",
    "Kingsway", "Westfield", "Northgate", "Southfields", "Greenacres", "Highfield", "Moorside",
    "Churchill", "Beechwood", "Holly", "Willow", "Fairfield", "Stonebridge", "Abbey", "Grange",
    "Mill Lane", "Rosehill", "Orchard", "Victoria", "Castle", "Harbour", "Valley", "Lakeside",
    "St Mary's", "St John's", "St Peter's", "Christ Church", "Holy Trinity", "St Anne's",
    "Redwood", "Foxhill", "Primrose", "Bramley", "Heathfield", "Thornton", "Ashton", "Linden",
)
_TRUST_WORDS = ("Horizon", "Pathways", "Unity", "Compass", "Summit", "Beacon", "Harmony",
                "Aspire", "Bridge", "Keystone", "Lighthouse", "Evolve", "Spire", "Endeavour")


@dataclass
class Country:
    """The synthetic country: LAs, sites, establishments, links and the latent absence."""

    las: pd.DataFrame
    sites: pd.DataFrame
    establishments: pd.DataFrame
    links: pd.DataFrame
    #: ``urn[site, year - FIRST_YEAR]``: URN current in that year (0 when not open).
    urn: np.ndarray
    #: ``enrol[site, year - FIRST_YEAR]``: pupils on roll (0 when not open).
    enrol: np.ndarray
    #: ``s[site, year - FIRST_YEAR]``: school logit absence effect (no phase-year intercept).
    s: np.ndarray
    extra: dict = field(default_factory=dict)


def load_las() -> pd.DataFrame:
    """The 153 local authorities with DfE codes, region and London part."""
    path = resources.files("evaluate.synthetic").joinpath("local_authorities.csv")
    with resources.as_file(path) as p:
        las = pd.read_csv(p, dtype={"old_la_code": str}, keep_default_na=False)
    inner = las["london_part"] == "Inner London"
    outer = las["london_part"] == "Outer London"
    las["ees_region_code"] = np.where(inner, "E13000001", np.where(outer, "E13000002", las["region_code"]))
    las["ees_region_name"] = np.where(inner, "Inner London", np.where(outer, "Outer London", las["region_name"]))
    return las


def phase_counts(n_schools: int | None) -> dict[str, int]:
    """Schools per phase, scaled proportionally from the full country (at least 2 each)."""
    if n_schools is None:
        return dict(FULL_COUNTS)
    scale = n_schools / FULL_TOTAL
    return {p: max(2, int(round(c * scale))) for p, c in FULL_COUNTS.items()}


def _allocate_las(rng: np.random.Generator, las: pd.DataFrame, n: int, required: list[int]) -> np.ndarray:
    """An LA index for each of ``n`` schools; every LA in ``required`` gets at least one."""
    code = las["new_la_code"].str[:3]
    base = np.select([code == "E10", code == "E08", code == "E09"], [3.2, 1.6, 0.75], 0.8)
    w = base * rng.lognormal(0, 0.3, len(las))
    w = w / w.sum()
    out = rng.choice(len(las), size=n, p=w)
    k = min(len(required), n)
    if k:
        slots = rng.choice(n, size=k, replace=False)
        out[slots] = np.asarray(required[:k])
    return out


def build(rng: np.random.Generator, n_schools: int | None) -> Country:
    """Draw the schools, their characteristics, history and latent absence effects."""
    las = load_las()
    counts = phase_counts(n_schools)
    la_idx_by_name = {n: i for i, n in enumerate(las["la_name"])}

    required_names = [PILOT_LA] + [m[0] for m in MENTOR_AREAS] + list(PARTIAL_TOWNS)
    required = list(dict.fromkeys(la_idx_by_name[n] for n in required_names))

    la_fsm = np.array([_REGION_FSM[r] for r in las["ees_region_name"]]) + rng.normal(0, 3, len(las))
    la_eff = np.array([_REGION_EFFECT[r] for r in las["ees_region_name"]]) + rng.normal(0, 0.05, len(las))

    frames = []
    for phase in PHASES:
        n = counts[phase]
        req = required if phase == "primary" else ([la_idx_by_name[PILOT_LA]] if phase == "secondary" else [])
        la = _allocate_las(rng, las, n, req)
        frames.append(pd.DataFrame({"phase": phase, "la": la}))
    sites = pd.concat(frames, ignore_index=True)
    n = len(sites)
    ph = sites["phase"].to_numpy()
    la = sites["la"].to_numpy()

    fsm_mult = np.select([ph == "special", ph == "ap", ph == "secondary"], [1.8, 2.2, 0.9], 1.0)
    fsm = np.clip(la_fsm[la] * fsm_mult * rng.lognormal(0, 0.45, n), 0.5, 90.0)
    sites["fsm"] = np.round(fsm, 1)
    u = rng.normal(0, SCHOOL_SD, n)
    sites["u"] = u
    sites["priority"] = las["la_name"].to_numpy()[la]
    sites["priority"] = sites["priority"].isin(PRIORITY_LAS)

    # towns: the LA's name, or for the partial mentor areas a town inside the LA
    la_names = las["la_name"].to_numpy()[la]
    town = np.array([n_.replace(", City of", "").replace(", County of", "") for n_ in la_names], dtype=object)
    for la_name, (special_town, share, others) in PARTIAL_TOWNS.items():
        idx = np.flatnonzero(la_names == la_name)
        if len(idx) == 0:
            continue
        in_town = rng.random(len(idx)) < share
        in_town[rng.integers(len(idx))] = True  # at least one school in the town
        town[idx] = np.where(in_town, special_town, rng.choice(np.array(others, dtype=object), len(idx)))
    sites["town"] = town

    mean_size = np.array([_SIZE[p][0] for p in ph], dtype=float)
    sd_size = np.array([_SIZE[p][1] for p in ph])
    size = np.maximum(np.round(mean_size * rng.lognormal(-sd_size**2 / 2, sd_size)), 4)
    ny = len(PANEL_YEARS)
    drift = np.exp(np.cumsum(rng.normal(0, 0.03, (n, ny)), axis=1))
    enrol = np.maximum(np.round(size[:, None] * drift), 3).astype(np.int64)

    # latent absence: FSM gradient, region, persistent school effect, AR(1) shocks
    v = np.empty((n, ny))
    v[:, 0] = rng.normal(0, SHOCK_SD, n)
    for t in range(1, ny):
        v[:, t] = SHOCK_RHO * v[:, t - 1] + np.sqrt(1 - SHOCK_RHO**2) * rng.normal(0, SHOCK_SD, n)
    s_fixed = FSM_SLOPE * (fsm - 22.0) + la_eff[la] + u
    s = s_fixed[:, None] + v

    # Ofsted from the school effect plus noise (lower absence, better rating)
    score = -(u + rng.normal(0, 0.2, n))
    q = np.quantile(score, [0.03, 0.13, 0.81])
    ofsted = np.select([score < q[0], score < q[1], score < q[2]], ["Inadequate", "Requires improvement", "Good"], "Outstanding")
    ofsted = np.where(rng.random(n) < 0.01, "", ofsted)
    sites["ofsted"] = ofsted

    # history: academy at start, conversions, openings, closures
    academy0 = rng.random(n) < np.array([_ACADEMY_2016[p] for p in ph])
    open_year = np.full(n, FIRST_YEAR)
    close_year = np.full(n, LAST_YEAR + 1)  # first year without the school
    opens = rng.random(n) < OPEN_SHARE
    open_year[opens] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, opens.sum())
    academy0[opens] = True  # new schools are free schools / academies
    closes = (~opens) & (rng.random(n) < CLOSE_SHARE)
    close_year[closes] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, closes.sum())
    convert_year = np.zeros(n, dtype=np.int64)
    conv = (~academy0) & (~closes) & (rng.random(n) < CONVERT_SHARE)
    convert_year[conv] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, conv.sum())

    # the pilot hub's lead school: a secondary academy in Stockton-on-Tees, low absence
    cand = np.flatnonzero((ph == "secondary") & (la_names == PILOT_LA))
    pilot_lead = int(cand[np.argmin(u[cand])])
    academy0[pilot_lead] = True
    opens[pilot_lead] = closes[pilot_lead] = False
    open_year[pilot_lead], close_year[pilot_lead], convert_year[pilot_lead] = FIRST_YEAR, LAST_YEAR + 1, 0

    # mergers: a larger primary absorbs a smaller one of the same LA (new URN for both)
    merge_year = np.zeros(n, dtype=np.int64)
    merged_into = np.full(n, -1)
    stable = (~opens) & (~closes) & (convert_year == 0) & (ph == "primary")
    stable[pilot_lead] = False
    n_merge = max(1, int(round(MERGE_SHARE * n)))
    pool = rng.permutation(np.flatnonzero(stable))
    used: set[int] = set()
    made = 0
    for a in pool:
        if made >= n_merge:
            break
        if a in used:
            continue
        partners = [b for b in np.flatnonzero(stable & (la == la[a])) if b != a and b not in used]
        if not partners:
            continue
        b = int(partners[0])
        y = int(rng.integers(FIRST_YEAR + 2, LAST_YEAR))
        t = y - 1 - FIRST_YEAR
        big, small = (int(a), b) if enrol[a, t] >= enrol[b, t] else (b, int(a))
        merge_year[big] = y
        merged_into[small] = big
        close_year[small] = y
        used.update((big, small))
        made += 1
    for small in np.flatnonzero(merged_into >= 0):
        big = merged_into[small]
        t0 = merge_year[big] - FIRST_YEAR
        enrol[big, t0:] += enrol[small, t0:]

    years = np.array(PANEL_YEARS)
    active = (years[None, :] >= open_year[:, None]) & (years[None, :] < close_year[:, None])
    enrol = np.where(active, enrol, 0)

    sites["academy0"] = academy0
    sites["open_year"] = open_year
    sites["close_year"] = close_year
    sites["convert_year"] = convert_year
    sites["merge_year"] = merge_year
    sites["merged_into"] = merged_into
    sites["new_la_code"] = las["new_la_code"].to_numpy()[la]
    sites["old_la_code"] = las["old_la_code"].to_numpy()[la]
    sites["la_name"] = la_names
    sites["region_code"] = las["ees_region_code"].to_numpy()[la]
    sites["region_name"] = las["ees_region_name"].to_numpy()[la]
    sites["gor_name"] = las["region_name"].to_numpy()[la]
    sites["stem"] = rng.choice(np.array(_STEMS, dtype=object), n)
    sites.loc[pilot_lead, "stem"] = "North Shore"

    est, links, urn = _establishments(rng, sites, pilot_lead)
    first = np.zeros(n, dtype=np.int64)
    for site, u_ in est.sort_values("start_year").groupby("site", sort=False)["urn"].first().items():
        first[site] = u_
    sites["first_urn"] = first
    urn = np.where(active, urn, 0)
    return Country(las=las, sites=sites, establishments=est, links=links, urn=urn, enrol=enrol,
                   s=s, extra={"pilot_lead": pilot_lead})


def _school_name(stem: str, phase: str, academy: bool, town: str, pilot: bool) -> str:
    if pilot:
        return "North Shore Academy"
    if phase == "primary":
        return f"{stem} Primary {'Academy' if academy else 'School'}"
    if phase == "secondary":
        return f"{stem} {'Academy' if academy else 'High School'}"
    if phase == "special":
        return f"{stem} {'Special Academy' if academy else 'Special School'}"
    return f"{town} {'Alternative Provision Academy' if academy else 'Pupil Referral Unit'}"


def _types(phase: str, academy: bool, free: bool, rng: np.random.Generator) -> tuple[str, str]:
    """GIAS TypeOfEstablishment and EstablishmentTypeGroup."""
    if free:
        kind = {"special": "Free schools special", "ap": "Free schools alternative provision"}.get(phase, "Free schools")
        return kind, "Free Schools"
    if academy:
        kind = {"special": "Academy special converter", "ap": "Academy alternative provision converter"}.get(
            phase, "Academy converter" if rng.random() < 0.75 else "Academy sponsor led")
        return kind, "Academies"
    if phase == "special":
        return "Community special school", "Special schools"
    if phase == "ap":
        return "Pupil referral unit", "Local authority maintained schools"
    kind = ("Community school", "Voluntary aided school", "Voluntary controlled school", "Foundation school")
    return kind[int(rng.choice(4, p=[0.6, 0.15, 0.15, 0.1]))], "Local authority maintained schools"


def _establishments(rng: np.random.Generator, sites: pd.DataFrame, pilot_lead: int
                    ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """GIAS records, links and the URN current in each site-year."""
    n = len(sites)
    ny = len(PANEL_YEARS)
    S = {c: sites[c].to_numpy() for c in sites.columns}  # noqa: N806
    urn = np.zeros((n, ny), dtype=np.int64)
    initial = rng.choice(np.arange(100_000, 139_000), size=n, replace=False)
    # new URNs (conversions, openings, mergers) are issued in date order from 140000
    events = []
    for i in range(n):
        if S["open_year"][i] > FIRST_YEAR:
            events.append((int(S["open_year"][i]), i, "open"))
        if S["convert_year"][i]:
            events.append((int(S["convert_year"][i]), i, "convert"))
        if S["merge_year"][i]:
            events.append((int(S["merge_year"][i]), i, "merge"))
    events.sort()
    next_urn = 140_000 + int(rng.integers(0, 500))

    # trusts by region
    regions = sorted(sites["gor_name"].unique())
    trust_of_region = {}
    code = 2000
    for r in regions:
        k = max(2, int(round((sites["gor_name"] == r).sum() / 60)))
        trust_of_region[r] = [(code + j, f"{r.split()[0]} {_TRUST_WORDS[(code + j) % len(_TRUST_WORDS)]} Trust {j + 1}")
                              for j in range(k)]
        code += k + int(rng.integers(1, 40))
    estab_counter: dict[tuple[str, int], int] = {}
    base_no = {"primary": 2000, "secondary": 4000, "special": 7000, "ap": 1100}

    def estab_no(la_code: str, phase: str) -> int:
        key = (la_code, base_no[phase])
        estab_counter[key] = estab_counter.get(key, 0) + 1
        return base_no[phase] + estab_counter[key]

    def trust(i: int) -> tuple[str, str]:
        if i == pilot_lead:
            return "1001", "Northern Education Trust"
        opts = trust_of_region[S["gor_name"][i]]
        c, nme = opts[int(rng.integers(len(opts)))]
        return str(c), nme

    rows = []
    links = []

    def add(i: int, u_: int, start: int, end: int, academy: bool, free: bool, reason_open: str,
            reason_close: str, open_date: str) -> None:
        phase = S["phase"][i]
        kind, group = _types(phase, academy, free, rng)
        t_code, t_name = trust(i) if academy else ("", "")
        rows.append({
            "urn": u_, "site": i, "start_year": start, "end_year": end, "academy": academy,
            "type": kind, "group": group, "trust_code": t_code, "trust_name": t_name,
            "name": _school_name(S["stem"][i], phase, academy, S["town"][i], i == pilot_lead),
            "estab_no": estab_no(S["old_la_code"][i], phase), "open_date": open_date,
            "close_date": f"31-08-{end}" if end <= LAST_YEAR else "",
            "reason_open": reason_open, "reason_close": reason_close if end <= LAST_YEAR else "",
        })
        urn[i, max(start, FIRST_YEAR) - FIRST_YEAR: min(end, LAST_YEAR + 1) - FIRST_YEAR] = u_

    new_urn: dict[tuple[int, str], int] = {}
    for _y, i, kind in events:
        new_urn[(i, kind)] = next_urn
        next_urn += int(rng.integers(1, 25))

    for i in range(n):
        opened = int(S["open_year"][i])
        close = int(S["close_year"][i])
        conv = int(S["convert_year"][i])
        merge = int(S["merge_year"][i])
        academy = bool(S["academy0"][i])
        end_reason = "Merged" if S["merged_into"][i] >= 0 else "For Other Reasons"
        if opened > FIRST_YEAR:
            first_urn, odate, ro, free = new_urn[(i, "open")], f"01-09-{opened}", "New Provision", True
        else:
            oy = int(rng.integers(2011, 2016)) if academy else int(rng.integers(1950, 2010))
            first_urn, odate, free = int(initial[i]), f"01-09-{oy}", False
            ro = "Academy Converter" if academy else "Not applicable"
        change = conv or merge
        if change:
            kind = "convert" if conv else "merge"
            add(i, first_urn, opened, change, academy, free, ro,
                "Academy converter" if conv else "Merged", odate)
            nu = new_urn[(i, kind)]
            add(i, nu, change, close, True if conv else academy, False,
                "Academy Converter" if conv else "Result of Amalgamation/Merger", "For Other Reasons",
                f"01-09-{change}")
            lt = ("Successor", "Predecessor") if conv else ("Successor - merged", "Predecessor - merged")
            links.append((first_urn, nu, lt[0], change))
            links.append((nu, first_urn, lt[1], change))
        else:
            add(i, first_urn, opened, close, academy, free, ro, end_reason, odate)
    est = pd.DataFrame(rows)
    # merged (closed) schools link to the successor of the school that absorbed them
    for small in np.flatnonzero(sites["merged_into"].to_numpy() >= 0):
        big = int(S["merged_into"][small])
        y = int(S["merge_year"][big])
        s_urn = int(est.loc[(est["site"] == small), "urn"].iloc[-1])
        b_urn = new_urn[(big, "merge")]
        links.append((s_urn, b_urn, "Successor - merged", y))
        links.append((b_urn, s_urn, "Predecessor - merged", y))
    name_of = dict(zip(est["urn"], est["name"], strict=True))
    lk = pd.DataFrame(links, columns=["URN", "LinkURN", "LinkType", "year"])
    lk["LinkName"] = lk["LinkURN"].map(name_of)
    lk["LinkEstablishedDate"] = "01-09-" + lk["year"].astype(str)
    lk = lk[["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]]
    lk = lk.sort_values(["URN", "LinkURN"], kind="stable").reset_index(drop=True)
    return est, lk, urn
