"""The registers stage: daily register marks -> school-term absence measures.

DfE's daily registers hold one mark per pupil per morning and afternoon session (about
3 billion a year). This stage reads them (:func:`read_marks`, Parquet or CSV), maps the
national attendance and absence codes of both code sets (:mod:`.codes`), and computes
pupil x school x term measures and the school x term table in the EES school-level
format the data layer reads (:func:`register_measures`, :class:`RegisterMeasures`).
It is written once as Ibis expressions: DuckDB (embedded, out of core) by default, the
same code on Spark. See ``docs/registers.md``.
"""

from evaluate.registers.codes import (
    CATEGORIES,
    CODE_SETS,
    CODES,
    Code,
    code_set_of_year,
    code_table,
    lookup,
    reason_columns,
)
from evaluate.registers.measures import EES_COLUMNS, TERMS, RegisterMeasures, register_measures
from evaluate.registers.read import MARK_COLUMNS, check_csv, connect, read_marks
from evaluate.registers.schools import gias_school_details

__all__ = ["CATEGORIES", "CODES", "CODE_SETS", "EES_COLUMNS", "MARK_COLUMNS", "TERMS", "Code",
           "RegisterMeasures", "check_csv", "code_set_of_year", "code_table", "connect",
           "gias_school_details", "lookup", "read_marks", "reason_columns", "register_measures"]
