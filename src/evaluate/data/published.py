"""DfE's published national absence figures, the yardstick for the panel.

Source: DfE, "Pupil absence in schools in England" (full academic years, state-funded
primary, secondary and special schools), as quoted in this project's issue tracker.
Percentages; ``year`` is the calendar year the academic year starts (2022 = 2022/23).
The synthetic country is calibrated to these figures (``evaluate.synthetic.calibration``)
and the data-quality report compares any panel against them.
"""

from __future__ import annotations

#: year -> measure -> published national percentage. Measures: ``overall`` (overall
#: absence rate), ``pa`` (persistent absence, 10%+ of sessions missed), and per phase
#: ``overall_primary`` ... ``pa_special``.
NATIONAL: dict[int, dict[str, float]] = {
    2016: {"overall": 4.7, "pa": 10.8},
    2017: {"overall": 4.7, "pa": 10.8},
    2018: {"overall": 4.7, "pa": 10.8},
    2021: {"overall": 7.6, "pa": 22.5},
    2022: {
        "overall": 7.4, "pa": 22.3,
        "overall_primary": 5.9, "overall_secondary": 9.0, "overall_special": 13.0,
        "pa_primary": 17.2, "pa_secondary": 28.3, "pa_special": 38.7,
    },
    2023: {"overall": 7.1, "pa": 20.7},
    2024: {"pa": 18.7},
}

#: Panel phase label for each phase suffix of :data:`NATIONAL`.
PHASES = {"primary": "State-funded primary", "secondary": "State-funded secondary", "special": "Special"}


def published_rows() -> list[dict[str, object]]:
    """The figures as rows: ``year``, ``phase`` (``All phases`` or a panel phase),
    ``measure`` (``overall`` or ``pa``) and ``published``."""
    rows = []
    for year, figures in sorted(NATIONAL.items()):
        for key, value in figures.items():
            measure, _, phase = key.partition("_")
            rows.append({"year": year, "phase": PHASES[phase] if phase else "All phases",
                         "measure": measure, "published": value})
    return rows
