"""GIAS establishments and links: read them, and follow schools across conversion.

Every school gets a stable ``school_id``: the URN of the first establishment in its
predecessor/successor chain (see ``docs/data-formats.md``).

Rules, applied in this order (all deterministic):

1. Each link row gives a directed edge predecessor -> successor. ``Successor``,
   ``Successor - merged``, ``Successor - amalgamated`` and ``Result of Amalgamation``
   name the successor in ``LinkURN``; ``Predecessor``, ``Predecessor - merged`` and
   ``Predecessor - amalgamated`` name the predecessor. Links appear from both sides;
   a one-sided link is used as well. Split links (``... - Split School``) are not
   followed (a split starts new ids); other types (sixth-form links, ``Other``,
   ``Expansion``, ``Closure``, ``Merged - ...``) are not followed either; both are
   counted.
2. A pair linked in both directions (A succeeds B and B succeeds A) is contradictory:
   neither edge is followed; it is reported.
3. A predecessor with several successors is a split: none of them inherits its id.
4. A successor with several predecessors is a merger: it keeps the id of the
   predecessor with the most pupils (``NumberOfPupils``; missing counts as 0), ties
   broken by the lowest URN; the other predecessors' ids end at the merger.
5. A remaining cycle (A -> B -> C -> A) is broken at the lowest URN in it, which
   becomes the first school of the chain; it is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data import _csv
from evaluate.data.invariants import FORMATS, enforce
from evaluate.errors import InputError

ESTABLISHMENT_REQUIRED = ("URN", "EstablishmentName")
LINKS_REQUIRED = ("URN", "LinkURN", "LinkType")

#: LinkType -> (direction, kind). direction "succ": LinkURN succeeds URN; "pred": LinkURN precedes URN.
FOLLOWED_LINKS: dict[str, tuple[str, str]] = {
    "Successor": ("succ", "conversion"),
    "Predecessor": ("pred", "conversion"),
    "Successor - merged": ("succ", "merger"),
    "Predecessor - merged": ("pred", "merger"),
    "Successor - amalgamated": ("succ", "merger"),
    "Predecessor - amalgamated": ("pred", "merger"),
    "Result of Amalgamation": ("succ", "merger"),
}
SPLIT_LINKS = ("Successor - Split School", "Predecessor - Split School")


@dataclass(frozen=True)
class GIASFile:
    """A GIAS extract as read: ``frame`` indexed by 1-based data row."""

    path: Path
    sha256: str
    frame: pd.DataFrame
    encoding: str


def _read(path: str | Path, required: tuple[str, ...], label: str | None, fmt: str,
          check: bool = True) -> tuple[pd.DataFrame, str, str]:
    path = Path(path)
    name = label or str(path)
    data, digest = _csv.read_bytes(path)
    # GIAS downloads are Windows-1252; read UTF-8 when it is, else cp1252.
    text, enc = _csv.decode(data, Path(name), fallback="cp1252")
    df = _csv.parse(text, Path(name), expect=required[0])
    for col in required:
        if col not in df.columns:
            raise InputError("required column missing", file=name, column=col, row=0)
    if check:
        enforce(df, FORMATS[fmt], file=name)
    return df, digest, enc


def _urns(values: pd.Series, name: str, column: str, *, allow_empty: bool = False) -> pd.Series:
    text = values.astype(object).map(lambda v: str(v).strip())
    ok = text.str.fullmatch(r"\d+").astype(bool)
    if allow_empty:
        ok = ok | (text == "")
    if not ok.all():
        i = ok.index[~ok.to_numpy()][0]
        raise InputError(f"'{text[i]}' is not a URN (a positive whole number)", file=name,
                         column=column, row=int(i))
    out = pd.to_numeric(text.where(text != "", None), errors="coerce")
    return out.astype("Int64")


def parse_dates(values: pd.Series, name: str, column: str, fmt: str) -> pd.Series:
    """Parse dates in ``fmt``; empty -> NaT; anything else unparseable -> InputError."""
    text = values.astype(object).map(lambda v: str(v).strip())
    out = pd.to_datetime(text.where(text != "", None), format=fmt, errors="coerce")
    bad = out.isna() & (text != "")
    if bad.any():
        i = bad.index[bad.to_numpy()][0]
        want = fmt.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY")
        raise InputError(f"'{text[i]}' is not a date ({want})", file=name, column=column, row=int(i))
    return out


def read_establishments(path: str | Path, *, label: str | None = None, check: bool = True) -> GIASFile:
    """Read a GIAS establishment extract (``edubasealldata.csv``).

    ``URN`` becomes Int64 (unique), ``OpenDate`` / ``CloseDate`` datetimes
    (DD-MM-YYYY), ``NumberOfPupils`` and ``PercentageFSM`` floats (empty -> missing).
    With ``check`` the invariants of ``FORMATS['gias_establishments']``
    (:mod:`evaluate.data.invariants`) are enforced first.

    Raises
    ------
    InputError
        Missing columns, a non-numeric URN, a duplicate URN, a bad date or number, or
        another breach of the format's invariants.
    """
    df, digest, enc = _read(path, ESTABLISHMENT_REQUIRED, label, "gias_establishments", check)
    name = label or str(path)
    df["URN"] = _urns(df["URN"], name, "URN")
    dup = df["URN"].duplicated()
    if dup.any():
        i = dup.index[dup.to_numpy()][0]
        raise InputError(f"duplicate URN {df.at[i, 'URN']}", file=name, column="URN", row=int(i))
    for col in ("OpenDate", "CloseDate"):
        if col in df.columns:
            df[col] = parse_dates(df[col], name, col, "%d-%m-%Y")
    from evaluate.data.symbols import to_numeric

    for col in ("NumberOfPupils", "PercentageFSM"):
        if col in df.columns:
            df[col] = to_numeric(df[col], file=name, column=col, allow_negative=False)
    return GIASFile(Path(path), digest, df, enc)


def read_links(path: str | Path, *, label: str | None = None, check: bool = True) -> GIASFile:
    """Read a GIAS links file (``links_edubasealldata.csv``).

    ``LinkName`` may hold commas and line breaks inside quotes (CSV semantics).
    ``LinkEstablishedDate`` is DD-MM-YYYY or empty. With ``check`` the invariants of
    ``FORMATS['gias_links']`` are enforced (one row per URN and linked URN, known link
    types, no link to itself, one name per linked URN).
    """
    df, digest, enc = _read(path, LINKS_REQUIRED, label, "gias_links", check)
    name = label or str(path)
    df["URN"] = _urns(df["URN"], name, "URN")
    df["LinkURN"] = _urns(df["LinkURN"], name, "LinkURN")
    df["LinkType"] = df["LinkType"].astype(object).map(str.strip)
    if "LinkEstablishedDate" in df.columns:
        df["LinkEstablishedDate"] = parse_dates(df["LinkEstablishedDate"], name,
                                                "LinkEstablishedDate", "%d-%m-%Y")
    return GIASFile(Path(path), digest, df, enc)


@dataclass(frozen=True)
class SchoolIds:
    """The result of following schools: URN -> school_id, and what was done.

    Attributes
    ----------
    mapping
        ``urn``, ``school_id``, ``position`` (0 = first establishment of the chain) for
        every URN met in the links or the establishments.
    summary
        ``links_read``, ``conversions_followed``, ``mergers``,
        ``schools_with_more_than_one_urn``, ``longest_chain``, ``splits``,
        ``links_not_followed``, ``contradictory_pairs``, ``cycles_broken``.
    problems
        One sentence per contradiction or cycle found.
    """

    mapping: pd.DataFrame
    summary: Mapping[str, int]
    problems: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[int, int]:
        """URN -> school_id as a plain dict."""
        return dict(zip(self.mapping["urn"].astype(int), self.mapping["school_id"].astype(int),
                        strict=True))


def resolve_school_ids(links: pd.DataFrame, pupils: Mapping[int, float] | None = None,
                       urns: Iterable[int] | None = None) -> SchoolIds:
    """Give every URN a stable ``school_id`` following the rules of this module.

    Parameters
    ----------
    links
        A links frame (``URN``, ``LinkURN``, ``LinkType``), as from :func:`read_links`.
    pupils
        URN -> number of pupils, used to decide mergers.
    urns
        Further URNs (e.g. every establishment) to include; unlinked URNs are their own id.

    Returns
    -------
    SchoolIds
    """
    pupils = dict(pupils or {})
    lt = links["LinkType"].astype(object).to_numpy()
    a = links["URN"].to_numpy(dtype=np.int64)
    b = links["LinkURN"].to_numpy(dtype=np.int64)
    direction = np.array([FOLLOWED_LINKS.get(t, ("", ""))[0] for t in lt], dtype=object)
    kind = np.array([FOLLOWED_LINKS.get(t, ("", ""))[1] for t in lt], dtype=object)
    is_split = np.isin(lt, SPLIT_LINKS)
    followed = direction != ""
    pred = np.where(direction == "succ", a, b)[followed]
    succ = np.where(direction == "succ", b, a)[followed]
    kinds = kind[followed]
    edges = pd.DataFrame({"pred": pred, "succ": succ, "merger": kinds == "merger"})
    edges = edges[edges["pred"] != edges["succ"]]
    edges = (edges.groupby(["pred", "succ"], sort=True)["merger"].any().reset_index())

    problems: list[str] = []
    # 2. contradictory pairs
    rev = edges.merge(edges[["pred", "succ"]].rename(columns={"pred": "succ", "succ": "pred"}),
                      on=["pred", "succ"], how="inner")
    n_contra = 0
    if not rev.empty:
        bad_pairs = {tuple(sorted((int(p), int(s)))) for p, s in zip(rev["pred"], rev["succ"], strict=True)}
        n_contra = len(bad_pairs)
        for p, s in sorted(bad_pairs):
            problems.append(f"URNs {p} and {s} are each linked as the other's successor: "
                            "neither link followed")
        key = set(zip(rev["pred"], rev["succ"], strict=True))
        keep = [(p, s) not in key for p, s in zip(edges["pred"], edges["succ"], strict=True)]
        edges = edges[keep]
    # 3. splits: predecessors with several successors pass their id to none
    outdeg = edges.groupby("pred")["succ"].transform("size")
    n_split_preds = int(edges.loc[outdeg > 1, "pred"].nunique())
    inherit = edges[outdeg == 1].copy()
    # 4. mergers: choose one predecessor per successor
    indeg = edges.groupby("succ")["pred"].transform("size")
    n_mergers = int(edges.loc[(indeg > 1) | edges["merger"], "succ"].nunique())
    inherit["pupils"] = inherit["pred"].map(lambda u: pupils.get(int(u), np.nan)).astype(float).fillna(0.0)
    inherit = inherit.sort_values(["succ", "pupils", "pred"], ascending=[True, False, True])
    inherit = inherit.drop_duplicates("succ", keep="first")
    parent = dict(zip(inherit["succ"].astype(int), inherit["pred"].astype(int), strict=True))

    # 5. cycles: break at the lowest URN
    n_cycles = 0
    state: dict[int, int] = {}  # 1 = on current path, 2 = done
    for start in sorted(parent):
        if start in state:
            continue
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = parent.get(node)
        if node is not None and state.get(node) == 1:
            cyc = path[path.index(node):]
            low = min(cyc)
            del parent[low]
            n_cycles += 1
            problems.append(f"links form a cycle through URNs {', '.join(map(str, sorted(cyc)))}: "
                            f"broken at the lowest URN {low}")
        for n in path:
            state[n] = 2

    # roots and positions
    all_urns = set(map(int, a)) | set(map(int, b))
    if urns is not None:
        all_urns |= {int(u) for u in urns if pd.notna(u)}
    root: dict[int, tuple[int, int]] = {}
    for u in sorted(all_urns):
        if u in root:
            continue
        chain = [u]
        node = u
        while node in parent and parent[node] not in root:
            node = parent[node]
            chain.append(node)
        if node in parent:  # stopped below an ancestor already resolved
            base_id, base_pos = root[parent[node]]
        else:  # reached the first establishment of the chain
            base_id, base_pos = node, 0
            chain.pop()
            root[node] = (node, 0)
        for k, n in enumerate(reversed(chain)):
            root[n] = (base_id, base_pos + 1 + k)
    mapping = pd.DataFrame(
        [(u, sid, pos) for u, (sid, pos) in sorted(root.items())],
        columns=["urn", "school_id", "position"]).astype("int64")
    sizes = mapping.groupby("school_id").size()
    summary = {
        "links_read": len(links),
        "conversions_followed": len(parent),
        "mergers": n_mergers,
        "schools_with_more_than_one_urn": int((sizes > 1).sum()),
        "longest_chain": int(sizes.max()) if len(sizes) else 0,
        "splits": n_split_preds,
        "split_links": int(is_split.sum()),
        "links_not_followed": int((~followed).sum()),
        "contradictory_pairs": n_contra,
        "cycles_broken": n_cycles,
    }
    return SchoolIds(mapping, summary, tuple(problems))
