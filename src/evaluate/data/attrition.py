"""The attrition log: every step from raw rows to panel rows, with counts that add up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evaluate.io import write_csv

COLUMNS = ["step", "rows_before", "rows_after", "dropped", "reason"]


@dataclass
class AttritionLog:
    """Steps with ``rows_before``, ``rows_after``, ``dropped`` and ``reason``.

    Steps of kind ``read`` record the rows read from one file (nothing dropped); the
    other steps form a chain whose first ``rows_before`` is the sum of the rows read,
    and each step's ``rows_before`` is the previous step's ``rows_after``.
    """

    rows: list[dict] = field(default_factory=list)

    def read(self, file: str, n: int) -> None:
        """Record ``n`` rows read from ``file``."""
        self.rows.append({"step": f"read {file}", "rows_before": n, "rows_after": n,
                          "dropped": 0, "reason": "rows read from the file", "kind": "read"})

    def step(self, step: str, before: int, after: int, reason: str) -> None:
        """Record a step that kept ``after`` of ``before`` rows."""
        if after > before:
            raise ValueError(f"step {step!r}: rows_after {after} > rows_before {before}")
        self.rows.append({"step": step, "rows_before": int(before), "rows_after": int(after),
                          "dropped": int(before - after), "reason": reason, "kind": "step"})

    def note(self, step: str, rows: int, reason: str) -> None:
        """Record a documented fact that drops nothing (e.g. no 2019/20 file)."""
        self.step(step, rows, rows, reason)

    def to_frame(self) -> pd.DataFrame:
        """The log as a frame with the columns of ``attrition.csv``."""
        return pd.DataFrame(self.rows, columns=[*COLUMNS, "kind"])[COLUMNS].astype(
            {"rows_before": "int64", "rows_after": "int64", "dropped": "int64"})

    @property
    def rows_read(self) -> int:
        return int(sum(r["rows_after"] for r in self.rows if r["kind"] == "read"))

    @property
    def rows_final(self) -> int:
        chain = [r for r in self.rows if r["kind"] == "step"]
        return int(chain[-1]["rows_after"]) if chain else self.rows_read

    @property
    def total_dropped(self) -> int:
        return int(sum(r["dropped"] for r in self.rows))

    def check(self) -> None:
        """Raise ``AssertionError`` unless the counts add up."""
        for r in self.rows:
            assert r["rows_before"] - r["rows_after"] == r["dropped"], r
            assert r["dropped"] >= 0, r
        chain = [r for r in self.rows if r["kind"] == "step"]
        if chain:
            assert chain[0]["rows_before"] == self.rows_read, (chain[0], self.rows_read)
            for prev, nxt in zip(chain, chain[1:], strict=False):
                assert prev["rows_after"] == nxt["rows_before"], (prev, nxt)
        assert self.rows_read - self.total_dropped == self.rows_final

    def write(self, path: str | Path) -> Path:
        """Write ``attrition.csv`` atomically."""
        return write_csv(self.to_frame(), path)
