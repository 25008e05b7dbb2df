"""Secondary suppression with an interval of protection, as a mixed-integer programme.

The cell suppression problem of the field (Fischetti and Salazar-González 2001; tau-ARGUS
and sdcTable solve it the same way; Hundepool et al. 2024, chapter 4): choose the fewest
further cells to hide so that, for every hidden cell, the smallest and largest values a
reader can derive from what is published (the visible cells, the totals, non-negative
counts) lie at least the protection width apart ("sliding protection": the width is the
threshold of the count's kind, 1 for a count without one).

The table is split into blocks of cells linked by its totals (a hidden cell's interval
depends on its block only). In each block with a primary cell a binary ``x_j`` says
whether cell ``j`` is hidden, and every protected cell ``p`` gets two copies of the table,
``y_up`` and ``y_down``, that must satisfy every total, equal the true value where a cell
is shown (``a_j - a_j x_j <= y_j <= a_j + M x_j``) and be non-negative; the protection
constraint ``y_up[p] - y_down[p] >= width_p x_p`` says that two tables consistent with the
publication differ by the width at ``p``. That is the compact formulation: the solver
(HiGHS, through :func:`scipy.optimize.milp`) finds the cheapest ``x`` for which the two
tables exist, which is exactly the audit's condition for ``p``.

The copies are generated lazily, as the cuts of Fischetti and Salazar-González are: the
first programme only asks that no hidden cell be alone in a line (it would be exact); the
hidden cells of its answer, the complementary ones included (a 0 hidden beside a 3 whose
sum is shown is narrow too), are then checked by linear programming, and every cell still
narrower than its width joins the protected cells, with its two copies, before the
programme is solved again, until none is. The answer is optimal for the whole problem: it
is optimal with only some of the constraints and meets all of them. Tables solved by the
solver are kept as evidence, so a cell they already show to be wide needs no programme.

The cost of hiding a cell is lexicographic: first the number of totals hidden (a total is
hidden only when no choice of inner cells protects the block), then the number of cells,
then the values they hold (smaller first, a zero after every positive cell), so the solution
loses as little as it can. HiGHS is deterministic: the same table gives the same cells.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

Cell = Hashable
Line = Sequence[tuple[Cell, int]]

#: Branch-and-bound nodes per solve before HiGHS returns its best table so far
#: (deterministic, unlike a time limit; the protection is checked afterwards either way).
NODE_LIMIT = 20_000


def blocks(lines: Sequence[Line]) -> list[list[Cell]]:
    """The cells of ``lines`` grouped into blocks connected by shared lines (sorted)."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for line in lines:
        cells = [c for c, _ in line]
        for c in cells:
            find(c)
        for a, b in zip(cells, cells[1:], strict=False):
            parent[find(a)] = find(b)
    out: dict[Cell, list[Cell]] = {}
    for c in sorted(parent):  # type: ignore[type-var]
        out.setdefault(find(c), []).append(c)
    return list(out.values())


def _gap(line: Line, value: Mapping[Cell, float]) -> float:
    """What a line's cells add up to (0 when they add up or a value is unknown)."""
    total = sum(coef * value[c] for c, coef in line)
    return float(total) if np.isfinite(total) else 0.0


def _narrow(hidden: Sequence[Cell], lines: Sequence[Line], value: Mapping[Cell, float],
            need: Mapping[Cell, float], points: Sequence[Mapping[Cell, float]]) -> list[Cell]:
    """The hidden cells whose interval is narrower than ``need``.

    ``points`` are tables known to be consistent with the publication (the true one, the
    solver's); a cell whose values across them already span its width needs no linear
    programme, and every programme solved adds its solution to the points.
    """
    lo = {c: min((p[c] for p in points), default=np.inf) for c in hidden}
    hi = {c: max((p[c] for p in points), default=-np.inf) for c in hidden}
    todo = [c for c in hidden if hi[c] - lo[c] < need[c] - 1e-6]
    if not todo:
        return []
    pos = {c: k for k, c in enumerate(hidden)}
    rows, rhs = [], []
    for line in lines:
        coef = np.zeros(len(hidden))
        b = _gap(line, value)
        for c, a in line:
            if c in pos:
                coef[pos[c]] += a
            else:
                b -= a * value[c]
        if np.any(coef):
            rows.append(coef)
            rhs.append(b)
    if not rows:
        return []
    a_eq, b_eq = np.array(rows), np.array(rhs)
    out = []
    for c in todo:
        if hi[c] - lo[c] >= need[c] - 1e-6:
            continue
        solved = True
        for sign in (1.0, -1.0):
            cost = np.zeros(len(hidden))
            cost[pos[c]] = sign
            res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status == 3:
                hi[c] = np.inf
            elif res.status == 0:
                for d, k in pos.items():
                    lo[d] = min(lo[d], res.x[k])
                    hi[d] = max(hi[d], res.x[k])
            else:  # no table fits the lines (a published table that does not add up): the
                solved = False  # audit cannot narrow the cell either
        if solved and hi[c] - lo[c] < need[c] - 1e-9:
            out.append(c)
    return out


def protect(lines: Sequence[Line], value: Mapping[Cell, float], primary: set[Cell],
            width: Callable[[Cell], float], *, cost_key: Callable[[Cell], tuple] | None = None
            ) -> set[Cell]:
    """The cells to hide so that no hidden cell can be narrowed below its width.

    Parameters
    ----------
    lines
        The table's additive constraints: ``(cell, coefficient)`` pairs summing to zero
        (parts +1, the total -1).
    value
        The true value of every cell of the lines (NaN where it is unknown: only allowed
        for primary cells, e.g. cells published as ``c`` already). A line with a NaN cell
        that is not hidden tells a reader nothing and is left out.
    primary
        The cells that must be hidden.
    width
        The width of a cell's interval of protection (the threshold of its kind).
    cost_key
        Orders cells from cheapest to dearest to hide among cells of equal standing
        (default: positive values before zeros, then the value, then the cell).

    Returns
    -------
    set
        ``primary`` and the complementary cells.

    Examples
    --------
    Two counts of 1 whose total is shown are each known to be 0 to 2; a third cell (the
    smallest that widens the interval to the threshold) protects them:

    >>> from evaluate.disclosure.protect import protect
    >>> cells = {"a": 1, "b": 1, "c": 10, "d": 30, "total": 42}
    >>> line = [("a", 1), ("b", 1), ("c", 1), ("d", 1), ("total", -1)]
    >>> sorted(protect([line], cells, {"a", "b"}, lambda c: 10))
    ['a', 'b', 'c']
    """
    value = {c: float(v) for c, v in value.items()}
    usable = [line for line in lines
              if all(c in primary or np.isfinite(value[c]) for c, _ in line)]
    key = cost_key or (lambda c: (value[c] <= 0, value[c], c))
    hidden = set(primary)
    for block in blocks(usable):
        if not any(c in primary for c in block):
            continue
        members = set(block)
        block_lines = [line for line in usable if line[0][0] in members]
        hidden |= _protect_block(block, block_lines, value, primary, width, key)
    return hidden


def _protect_block(block: list[Cell], lines: list[Line], value: dict[Cell, float],
                   primary: set[Cell], width: Callable[[Cell], float],
                   key: Callable[[Cell], tuple]) -> set[Cell]:
    n = len(block)
    pos = {c: k for k, c in enumerate(block)}
    fixed = np.array([c in primary for c in block])
    a = np.array([0.0 if fixed[k] and not np.isfinite(value[c]) else value[c]
                  for k, c in enumerate(block)])
    need = np.array([float(width(c)) for c in block])
    totals = {c for line in lines for c, coef in line if coef < 0}
    free = [c for c in block if c not in primary]
    rank = {c: r for r, c in enumerate(sorted(free, key=key))}
    big = float(n * n + 1)
    cost = np.array([0.0 if fixed[k] else (2 * n * big if c in totals else 0.0) + big + rank[c]
                     for k, c in enumerate(block)])
    protected: list[int] = []  # cells with their two copies (lazily, as they fall short)
    extra = np.zeros(n)  # added to a width the solver reached only to within its tolerance
    spread = float(need.max())
    for _ in range(2 * n + 2):
        solved = _solve(n, lines, value, pos, a, fixed, need + extra, cost, protected, spread)
        if solved is None:
            spread *= 4
            if spread > 1e6 * max(1.0, need.max()):
                return _everything(block)
            continue
        x, points = solved
        hide = [block[k] for k in range(n) if x[k]]
        tables = [{c: pt[pos[c]] for c in hide} for pt in points]
        if all(np.isfinite(value[c]) for c in hide):
            tables.append({c: value[c] for c in hide})
        tables = [t for t in tables if _consistent(t, lines, value)]
        short = sorted(pos[c] for c in _narrow(hide, lines, value, {c: need[pos[c]] for c in hide}, tables))
        if not short:
            return set(hide)
        for k in short:
            if k in protected:
                extra[k] += 1.0
            else:
                protected.append(k)
    return _everything(block)


def _everything(block: list[Cell]) -> set[Cell]:
    """The last resort when the programme finds no pattern: hide the whole block."""
    warnings.warn(f"secondary suppression found no pattern for a block of {len(block)} cells "
                  "and hides all of them", RuntimeWarning, stacklevel=4)
    return set(block)


def _consistent(table: Mapping[Cell, float], lines: Sequence[Line], value: Mapping[Cell, float]) -> bool:
    """Whether hidden values ``table`` (the published ``value`` elsewhere) meet every line
    and are non-negative: a solver's table is used as evidence only when it does."""
    if any(v < -1e-7 for v in table.values()):
        return False
    for line in lines:
        got = sum(coef * (table[c] if c in table else value[c]) for c, coef in line)
        scale = max(1.0, *(abs(table.get(c, value[c])) for c, _ in line))
        if abs(got - _gap(line, value)) > 1e-7 * scale:
            return False
    return True


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep HiGHS' stray console line off standard output (it prints
    ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` on some
    models whatever its options say)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def _solve(n: int, lines: list[Line], value: dict[Cell, float], pos: dict[Cell, int],
           a: np.ndarray, fixed: np.ndarray, need: np.ndarray, cost: np.ndarray,
           protected: list[int], spread: float) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """The cheapest hiding pattern ``x`` (0/1 per cell) protecting ``protected`` and the
    solver's tables (two per protected cell), or None."""
    m = len(protected)
    nvar = n + 2 * m * n
    lo = np.zeros(nvar)
    hi = np.full(nvar, np.inf)
    lo[:n] = fixed.astype(float)
    hi[:n] = 1.0
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lb: list[float] = []
    ub: list[float] = []
    r = 0
    gaps = [_gap(line, value) for line in lines]

    def add(entries: list[tuple[int, float]], low: float, up: float) -> None:
        nonlocal r
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v)
        lb.append(low)
        ub.append(up)
        r += 1

    for copy in range(2 * m):
        off = n + copy * n
        for line, gap in zip(lines, gaps, strict=True):
            add([(off + pos[c], float(coef)) for c, coef in line], gap, gap)
        for k in range(n):
            if fixed[k]:
                continue
            hi[off + k] = a[k] + spread
            add([(off + k, 1.0), (k, -spread)], -np.inf, a[k])      # y <= a + M x
            if a[k] > 0:
                add([(off + k, 1.0), (k, a[k])], a[k], np.inf)       # y >= a - a x
    for line in lines:  # valid cuts: a hidden cell is never alone in a line (it would be exact)
        cells = sorted({pos[c] for c, _ in line})
        for j in cells:
            add([(k, -1.0 if k == j else 1.0) for k in cells], 0.0, np.inf)
    for i, p in enumerate(protected):
        up, down = n + 2 * i * n + p, n + (2 * i + 1) * n + p
        add([(up, 1.0), (down, -1.0), (p, -need[p])], 0.0, np.inf)
    matrix = sparse.csr_array((vals, (rows, cols)), shape=(r, nvar))
    integrality = np.zeros(nvar)
    integrality[:n] = 1
    c = np.zeros(nvar)
    c[:n] = cost
    # presolve stays on: HiGHS 1.12 without it called a worse pattern optimal on a 4 x 3 table
    with _quiet():
        res = milp(c, integrality=integrality, bounds=Bounds(lo, hi),
                   constraints=LinearConstraint(matrix, np.array(lb), np.array(ub)),
                   options={"disp": False, "mip_rel_gap": 0.0, "node_limit": NODE_LIMIT})
    if res.x is None:
        return None
    return (np.round(res.x[:n]).astype(bool),
            [res.x[n + i * n:n + (i + 1) * n] for i in range(2 * m)])
