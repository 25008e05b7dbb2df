"""Synthetic England: the package's default data, written in DfE's real formats.

``generate(out)`` writes a whole synthetic country (about 21,500 state-funded schools in
the 153 real LAs) laid out as docs/data-formats.md describes: school-level absence by
term and year, national/regional/LA aggregates, a GIAS extract and links file, the
programme lists (attendance hubs, mentor areas, priority areas), the true effects
(truth.json) and a manifest with SHA-256 hashes. Same seed and size: byte-identical files.

Years and terms
    Absence files cover 2016/17 to 2024/25 with ``Autumn term``, ``Spring term``,
    ``Summer term`` and ``Academic year`` rows, except: there is **no 2019/20 file**
    (DfE published no absence figures for 2019/20; the year is still simulated for the
    latent school effects), and **2020/21 has only Autumn and Spring term rows** (no
    summer term and no full-year row).

Schools over time
    About 10% of maintained schools convert to academies. A conversion happens on
    1 September: the old URN closes on 31 August (``Academy converter``) and the new URN
    opens on 1 September, so absence rows carry the old URN before the conversion year
    and the new URN from it (never both in one year). A few primaries merge (both
    predecessors close, the successor gets a new URN, ``... - merged`` links); some
    schools open or close during the panel. Links appear from both sides.

Suppression
    Schools with fewer than 6 enrolments have every measure ``c``; persistent- and
    severe-absence counts of 1 or 2 pupils are ``c`` (count and percentage).

Modules: :mod:`.england` (schools, LAs, history), :mod:`.programmes` (who joins when,
effect sizes), :mod:`.absence` (pupils -> sessions), :mod:`.truth`, :mod:`.writers`
(DfE formats), :mod:`.calibration` (DfE's national figures and the solver).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.io import sha256_file, write_csv, write_json
from evaluate.synthetic.scenario import DEFAULT_SCENARIO, Scenario

GENERATOR_VERSION = "1.2.0"

__all__ = ["GENERATOR_VERSION", "Scenario", "generate"]


def generate(out: str | Path, *, seed: int = 20240901, n_schools: int | None = None,
             scenario: Scenario | None = None,
             progress: Callable[[str, float], None] | None = None) -> dict:
    """Write the synthetic country to `out`; return the manifest dict (also written as manifest.json).

    Parameters
    ----------
    out
        Folder to write to (created if needed).
    seed
        Seed of every random draw; same seed and ``n_schools`` give byte-identical files.
    n_schools
        ``None`` for the full country (about 21,550 schools), else the number of schools;
        every phase is scaled proportionally (and the programmes with them).
    scenario
        The world (:class:`evaluate.synthetic.scenario.Scenario`): effect and selection
        scales, an unobserved trend, heterogeneity. ``None`` is the default world.
    progress
        Called as ``progress(stage, fraction_done)``; may be ``None``.

    Returns
    -------
    dict
        The manifest.

    Examples
    --------
    A small synthetic country (50 schools) in a temporary folder:

    >>> import tempfile
    >>> from evaluate.synthetic import generate
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     manifest = generate(folder, seed=1, n_schools=50)
    >>> manifest["synthetic"], manifest["seed"]
    (True, 1)
    >>> sorted(manifest["files"])[:2]
    ['absence/absence_nat_reg_la.csv', 'absence/school_absence_201617.csv']
    >>> "programmes/hubs.csv" in manifest["files"]
    True
    """
    from evaluate.synthetic import absence, england, programmes, truth, writers

    if n_schools is not None and n_schools < 50:
        raise ValueError("n_schools must be at least 50 (or None for the full country)")

    def tick(stage: str, frac: float) -> None:
        if progress is not None:
            progress(stage, frac)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(seed)
    s_country, s_prog, s_years = ss.spawn(3)
    tick("schools", 0.0)
    country = england.build(np.random.default_rng(s_country), n_schools)
    scenario = DEFAULT_SCENARIO if scenario is None else scenario
    progs = programmes.select(np.random.default_rng(s_prog), country, n_schools, scenario)
    tick("schools", 1.0)

    years = list(absence.PUBLISHED_YEARS)
    year_rngs = dict(zip(years, s_years.spawn(len(years)), strict=True))
    params = {y: absence.pupil_params(country, y) for y in years}
    done = [0]

    def run(year: int) -> absence.YearResult:
        r = absence.simulate_year(country, progs, year, params[year], np.random.default_rng(year_rngs[year]))
        done[0] += 1
        return r

    tick("pupils", 0.0)
    results: dict[int, absence.YearResult] = {}
    with ThreadPoolExecutor(max_workers=2) as ex:
        for year, r in zip(years, ex.map(run, years), strict=True):
            results[year] = r
            tick("pupils", len(results) / len(years))

    files: list[Path] = []
    frames = []
    for i, year in enumerate(years):
        df = writers.school_frame(country, results[year])
        frames.append(df)
        files.append(writers.write_school_absence(
            df, out / "absence" / f"school_absence_{writers._time_period(year)}.csv"))
        tick("writing", (i + 1) / (len(years) + 3))
    files.append(write_csv(writers.aggregate(pd.concat(frames, ignore_index=True)),
                           out / "absence" / "absence_nat_reg_la.csv", float_format="%.5f"))
    gias, links = writers.gias(country)
    files.append(write_csv(gias, out / "gias" / "edubasealldata.csv"))
    files.append(write_csv(links, out / "gias" / "links_edubasealldata.csv"))
    files.append(write_csv(progs.hubs, out / "programmes" / "hubs.csv"))
    files.append(write_csv(progs.mentor_areas, out / "programmes" / "mentor_areas.csv"))
    files.append(write_csv(progs.priority_areas, out / "programmes" / "priority_areas.csv"))
    phase = country.sites["phase"].to_numpy()
    truth_doc = truth.compute(results, progs, phase)
    truth_doc["scenario"] = scenario.to_dict()
    truth_doc["schools_file"] = "truth_schools.csv"
    files.append(write_json(truth_doc, out / "truth.json"))
    files.append(write_csv(truth.school_effects(results, progs, country), out / "truth_schools.csv",
                           float_format="%.6f"))
    tick("writing", 1.0)

    manifest = {
        "synthetic": True,
        "generator": "evaluate.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_schools_requested": n_schools,
        "scenario": scenario.to_dict(),
        "n_schools": int(len(country.sites)),
        "n_establishments": int(len(country.establishments)),
        "years": [int(y) for y in years],
        "description": (
            "Synthetic England in DfE's formats: school-level pupil absence 2016/17 to "
            "2024/25 (no 2019/20; 2020/21 autumn and spring only), GIAS extract and links, "
            "attendance hubs and mentor areas with known true effects (truth.json, "
            "truth_schools.csv). "
            "Not real data."),
        "files": {
            p.relative_to(out).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in sorted(files)
        },
    }
    write_json(manifest, out / "manifest.json")
    return json.loads(json.dumps(manifest))
