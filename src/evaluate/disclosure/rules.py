"""The disclosure-control rules a run publishes under (``disclosure:`` in ``evaluation.yml``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

CountKind = Literal["pupils", "schools"]

#: Whether the publication gate (:func:`~evaluate.disclosure.publish_json`,
#: :func:`~evaluate.disclosure.publish_table`, :func:`~evaluate.disclosure.check_publication_area`)
#: and :func:`~evaluate.disclosure.scan_html` by default refuse a suppressed cell that can
#: be narrowed down to within the threshold, as :func:`~evaluate.disclosure.audit_table`
#: does. ``True``: ``control_table`` protects the interval
#: (:func:`evaluate.disclosure.protect.protect`), so every table it controls passes;
#: ``False`` would check exact recovery only. It lives here, with the rules, so that
#: ``rules_text`` (which states it) imports nothing above this module.
GATE_CHECKS_INTERVAL = True

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
        Suppress further cells so that no suppressed cell can be narrowed down by
        subtraction from its rows, columns and totals to a range narrower than its
        threshold (the interval of protection; for a count of a kind without a threshold,
        so that it cannot be recovered exactly). Turning this off is for testing only.

    Examples
    --------
    >>> from evaluate.disclosure import DisclosureRules
    >>> rules = DisclosureRules()
    >>> rules.threshold("pupils"), rules.threshold("schools")
    (10, None)
    >>> DisclosureRules(pupil_threshold=5, round_to=5).describe()
    'Counts of pupils below 5 are suppressed (c); further cells are suppressed so that no suppressed count can be narrowed down by subtraction to a range narrower than its threshold; pupil counts are rounded to the nearest 5.'
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
            text += ("; further cells are suppressed so that no suppressed count can be narrowed "
                     "down by subtraction to a range narrower than its threshold")
        if self.round_to:
            text += f"; pupil counts are rounded to the nearest {self.round_to}"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """The rules as a JSON-ready mapping."""
        return asdict(self)


#: Where the rules come from (cited by :func:`rules_text`).
SOURCES: tuple[str, ...] = (
    "Department for Education, explore education statistics (EES) data standards: the symbols "
    "a published DfE table uses instead of a number (c, low, x, z, u), as in the DfE files read here",
    "Department for Education, 'Pupil absence in schools in England' and 'Pupil attendance in "
    "schools' releases: their methodology pages say which cells are suppressed (c) to protect "
    "small counts, and their files show the suppression (see docs/data-formats.md)",
    "Office for Statistics Regulation, Code of Practice for Statistics: statistics are released "
    "without disclosing information about individuals (confidentiality)",
    "Hundepool A. et al., Handbook on Statistical Disclosure Control (2nd edition, 2024): primary "
    "and secondary cell suppression, audit by linear programming, protection intervals",
    "Fischetti M. and Salazar-González J.J., 'Solving the cell suppression problem on tabular data "
    "with linear constraints', Management Science 47(7), 2001: secondary suppression as a "
    "mixed-integer programme with protection levels, the method of tau-ARGUS (Statistics "
    "Netherlands) and of the R package sdcTable",
)


def rules_text(rules: DisclosureRules | None = None) -> str:
    """The disclosure-control rules of a run and their sources, as Markdown for the technical annex.

    States the thresholds (:meth:`DisclosureRules.describe`), what secondary suppression
    guarantees, what the independent audit checks (exact recovery and the interval of
    protection) and what the publication gate refuses, the key to the symbols, and the
    sources (:data:`SOURCES`).

    Examples
    --------
    >>> from evaluate.disclosure import DisclosureRules, rules_text
    >>> text = rules_text(DisclosureRules(pupil_threshold=10, round_to=5))
    >>> text.splitlines()[0]
    '### Disclosure control'
    >>> "Counts of pupils below 10 are suppressed (c)" in text and "nearest 5" in text
    True
    """
    rules = rules or DisclosureRules()
    th = rules.pupil_threshold
    school = ("" if rules.school_threshold is not None else
              " Counts of schools are published as they are (no school threshold is set).")
    gate = ("The publication gate refuses a table in which a suppressed cell can be recovered "
            "exactly or narrowed down to a range narrower than its threshold." if GATE_CHECKS_INTERVAL else
            "The publication gate refuses a table in which a suppressed cell can be recovered exactly; "
            "that a cell can be narrowed down to within the threshold is reported by the audit but "
            "not yet refused, because secondary suppression does not yet guarantee it.")
    lines = [
        "### Disclosure control", "",
        rules.describe() + school, "",
        f"- **Primary suppression.** A count of pupils from 1 to {th - 1} is replaced by `c`"
        + (f" (a count of schools from 1 to {rules.school_threshold - 1} too)"
           if rules.school_threshold is not None else "")
        + "; zero is shown, as DfE shows zeros.",
        *([f"- **Interval of protection.** A reader who knows everything a table publishes (its "
           "visible cells, its totals, and that no count is negative) can still work out, for each "
           "suppressed count, the smallest and the largest value it could have. Secondary suppression "
           "keeps the two at least the threshold apart: at least "
           f"{th} for a count of pupils" + (f" and {rules.school_threshold} for a count of schools"
                                            if rules.school_threshold is not None else "")
           + ", so that no suppressed count can be narrowed down to a range narrower than the "
           "threshold (two suppressed 1s whose sum of 2 could be worked out from a total would each "
           "be known to be 0 to 2, so a third cell is suppressed with them). The rule applies to "
           "every suppressed cell, the secondary ones included; a count with no threshold that is "
           "suppressed is kept from exact recovery (a range at least 1 wide).",
           "- **Secondary suppression.** The further cells replaced by `c` are chosen as the optimal "
           "methods of tau-ARGUS and sdcTable choose them (the cell suppression problem, Fischetti "
           "and Salazar-González 2001): the fewest cells that give every suppressed count its "
           "interval of protection, a total only when no choice of inner cells can, and smaller "
           "values before larger ones. The cells are found by a mixed-integer programme (HiGHS) "
           "and then checked by linear programming; the same table always gives the same cells. A rate computed from a "
           "suppressed count is suppressed with it."] if rules.secondary else
          ["- **Secondary suppression** is switched off (for testing only): suppressed cells may be "
           "recoverable."]),
        "- **Rounding.** " + (f"Published pupil counts are rounded half up to a multiple of "
                              f"{rules.round_to} after suppression; totals are rounded on their own."
                              if rules.round_to else "Counts are not rounded."),
        "- **Audit.** Every published table is checked again by a different method (linear "
        "programming): for each suppressed cell, the smallest and largest values consistent with "
        "everything published (visible cells, totals, non-negative counts and, when rounded, the "
        "rounding intervals). A cell is recoverable if the two are equal, and insufficiently "
        f"protected if they are less than the threshold ({th}) apart. " + gate,
        "- **Rendered reports** are scanned as a reader sees them: pupil counts found by their "
        "column headers, by the labels of their rows and by the text of their cells, and no value "
        "that looks like a unique pupil number.", "",
        "| symbol | meaning |", "|---|---|",
        *[f"| `{k}` | {v} |" for k, v in SYMBOL_KEY.items()], "",
        "Sources:", "",
        *[f"- {s}" for s in SOURCES],
    ]
    return "\n".join(lines)
