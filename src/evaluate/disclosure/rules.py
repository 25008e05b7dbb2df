"""The disclosure-control rules a run publishes under (``disclosure:`` in ``evaluation.yml``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

CountKind = Literal["pupils", "schools"]

#: DfE's key to the symbols a published table may hold instead of a number.
SYMBOL_KEY: dict[str, str] = {
    "c": "confidential: suppressed to protect small counts (disclosure control)",
    "x": "not available",
    "z": "not applicable",
    "low": "rounds to zero, but is not zero",
}


@dataclass(frozen=True)
class DisclosureRules:
    """Thresholds and options of statistical disclosure control.

    Parameters
    ----------
    pupil_threshold
        Counts of pupils from 1 to ``pupil_threshold - 1`` are suppressed (``c``); DfE's
        usual threshold is 10. Zero is shown: DfE publishes zeros.
    school_threshold
        The same for counts of schools, where a school could be identified; ``None`` (the
        default) publishes school counts as they are.
    round_to
        When set (DfE rounds some pupil counts to the nearest 5), published pupil counts
        are rounded half up to a multiple of it after suppression; totals are rounded on
        their own, so rounded cells need not add up to a rounded total (DfE's convention).
    secondary
        Suppress further cells so that no suppressed cell can be recovered by subtraction
        from its row, column or total. Turning this off is for testing only.

    Examples
    --------
    >>> from evaluate.disclosure import DisclosureRules
    >>> rules = DisclosureRules()
    >>> rules.threshold("pupils"), rules.threshold("schools")
    (10, None)
    >>> DisclosureRules(pupil_threshold=5, round_to=5).describe()
    'Counts of pupils below 5 are suppressed (c); cells that would let a reader recover a suppressed cell by subtraction are suppressed too; pupil counts are rounded to the nearest 5.'
    """

    pupil_threshold: int = 10
    school_threshold: int | None = None
    round_to: int | None = None
    secondary: bool = True

    def __post_init__(self) -> None:
        if self.pupil_threshold < 1:
            raise ValueError("pupil_threshold must be at least 1")
        if self.school_threshold is not None and self.school_threshold < 1:
            raise ValueError("school_threshold must be at least 1 or None")
        if self.round_to is not None and self.round_to < 1:
            raise ValueError("round_to must be at least 1 or None")

    def threshold(self, kind: CountKind) -> int | None:
        """The threshold for counts of ``kind`` (``None``: not suppressed)."""
        if kind == "pupils":
            return self.pupil_threshold
        if kind == "schools":
            return self.school_threshold
        raise ValueError(f"a count is of pupils or schools, not {kind!r}")

    def describe(self) -> str:
        """The rules in one or two plain sentences, for a report's method note."""
        parts = [f"Counts of pupils below {self.pupil_threshold} are suppressed (c)"]
        if self.school_threshold is not None:
            parts[0] += f", and counts of schools below {self.school_threshold}"
        text = parts[0]
        if self.secondary:
            text += ("; cells that would let a reader recover a suppressed cell by subtraction "
                     "are suppressed too")
        if self.round_to:
            text += f"; pupil counts are rounded to the nearest {self.round_to}"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """The rules as a JSON-ready mapping."""
        return asdict(self)
