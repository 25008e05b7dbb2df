"""The public facts about where the programmes ran, shared by the country and the programmes.

The mentor areas with their start dates, and the priority education investment areas:
:mod:`evaluate.synthetic.england` needs the LA names to place schools there and
:mod:`evaluate.synthetic.programmes` needs the dates; both import them from here.
"""

from __future__ import annotations

__all__ = ["MENTOR_AREAS", "MENTOR_PROVIDER", "PRIORITY_LAS"]

#: Mentor areas: (LA name, start date, announced date, coverage, town or "").
MENTOR_AREAS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Middlesbrough", "2022-11-01", "2022-11-01", "whole", ""),
    ("Knowsley", "2023-09-01", "2023-09-01", "whole", ""),
    ("Doncaster", "2023-09-01", "2023-09-01", "whole", ""),
    ("Stoke-on-Trent", "2023-09-01", "2023-09-01", "whole", ""),
    ("Salford", "2023-09-01", "2023-09-01", "whole", ""),
    ("Blackpool", "2025-03-01", "2024-09-01", "whole", ""),
    ("Hartlepool", "2025-03-01", "2024-09-01", "whole", ""),
    ("Nottingham", "2025-03-01", "2024-09-01", "whole", ""),
    ("Portsmouth", "2025-03-01", "2024-09-01", "whole", ""),
    ("Rochdale", "2025-03-01", "2024-09-01", "whole", ""),
    ("Walsall", "2025-03-01", "2024-09-01", "whole", ""),
    ("East Sussex", "2025-03-01", "2024-09-01", "partial", "Hastings"),
    ("Suffolk", "2025-03-01", "2024-09-01", "partial", "Ipswich"),
    ("Norfolk", "2025-03-01", "2024-09-01", "partial", "Norwich"),
    ("Somerset", "2025-03-01", "2024-09-01", "partial", "West Somerset"),
)
MENTOR_PROVIDER = {"2022-11-01": "Barnardo's", "2023-09-01": "Barnardo's", "2025-03-01": "Etio"}

#: The 24 priority education investment areas (LA level; several real PEIAs are districts
#: inside these LAs: Hastings, Ipswich, Norwich, West Somerset, Fenland and East
#: Cambridgeshire, the North Yorkshire coast).
PRIORITY_LAS: tuple[str, ...] = (
    "Blackpool", "Bradford", "Derby", "Doncaster", "Cambridgeshire", "Halton", "Hartlepool",
    "East Sussex", "Suffolk", "Knowsley", "Middlesbrough", "North Yorkshire", "Norfolk",
    "Nottingham", "Oldham", "Portsmouth", "Rochdale", "Salford", "Sandwell",
    "Stoke-on-Trent", "Tameside", "Walsall", "Somerset", "Isle of Wight",
)
