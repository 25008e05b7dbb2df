"""Statistical disclosure control and safe handling of pupil data.

Every table a report shows and every CSV or JSON written for publication passes through
one gate, :func:`control_table` (called by :func:`publish_table`, :func:`publish_json`
and the report tables): counts of pupils below the threshold (default 10) become ``c``
(counts of schools too, when a school threshold is set), further cells are suppressed so
that no suppressed cell can be narrowed down by subtraction to a range narrower than its
threshold (the interval of protection, chosen by a mixed-integer programme as tau-ARGUS
and sdcTable do), rates computed from a suppressed count are suppressed, and pupil counts
can be rounded to the nearest 5 as DfE does. :func:`audit_table` and :func:`scan_html`
check the result independently (exact recovery, and the interval of protection), and the
publication gate refuses a table that fails. :func:`rules_text` states the rules and their sources for
the technical annex. Pupil identifiers are pseudonymised with :func:`pseudonymise` before any
intermediate file is written, and :func:`check_publication_area` keeps them out of the
publication area. The rules come from ``disclosure:`` in ``evaluation.yml``.

Examples
--------
>>> import pandas as pd
>>> from evaluate.disclosure import DisclosureRules, TableSpec, control_table, audit_table
>>> df = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": [3, 40, 52, 95]})
>>> spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
>>> out = control_table(df, spec, DisclosureRules(pupil_threshold=10))
>>> out.table["pupils"].tolist(), audit_table(out.table, spec)
(['c', 'c', 52, 95], [])
"""

from evaluate.disclosure.audit import (
    Problem,
    audit_table,
    html_tables,
    protection,
    scan_html,
)
from evaluate.disclosure.paths import safe_path
from evaluate.disclosure.pseudonym import KEY_ENV, pseudonymise, pupil_id_columns, write_pupil_panel
from evaluate.disclosure.publish import check_publication_area, publish_json, publish_table
from evaluate.disclosure.rules import (
    GATE_CHECKS_INTERVAL,
    SOURCES,
    SYMBOL_KEY,
    DisclosureRules,
    rules_text,
)
from evaluate.disclosure.suppress import SUPPRESSED, ControlledTable, TableSpec, control_table

__all__ = [
    "DisclosureRules",
    "TableSpec",
    "ControlledTable",
    "control_table",
    "audit_table",
    "scan_html",
    "html_tables",
    "Problem",
    "pseudonymise",
    "pupil_id_columns",
    "write_pupil_panel",
    "publish_json",
    "publish_table",
    "check_publication_area",
    "safe_path",
    "KEY_ENV",
    "SUPPRESSED",
    "SYMBOL_KEY",
    "SOURCES",
    "rules_text",
    "protection",
    "GATE_CHECKS_INTERVAL",
]
