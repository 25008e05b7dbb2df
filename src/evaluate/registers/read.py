"""Read register marks (Parquet or CSV, one file, a folder or a glob) into an Ibis table.

The marks have five columns: ``pupil_id`` (string or integer), ``urn`` (the school's
URN; ``school_urn`` is accepted), ``date``, ``session`` (``AM`` or ``PM``) and ``code``
(the national attendance code). Parquet folders may be partitioned (hive style, e.g.
``month=2024-09/``) by date or school: every ``*.parquet`` file under the folder is read.

DuckDB (embedded, out of core) is the default engine; ``engine='pyspark'`` or any
connected Ibis backend runs the same expressions elsewhere.

A CSV is checked row by row while streaming (bounded memory) before it is read, against
the invariants of :data:`evaluate.data.invariants.REGISTER_MARKS`: a missing column, a
session that is not ``AM``/``PM``, a date that is not ``YYYY-MM-DD``, a URN that is not a
number, an empty pupil id or code, a code longer than four characters or a pupil id
longer than 256, a row with too few or too many fields or bytes that are not UTF-8
raises :class:`~evaluate.errors.InputError` naming the file, the column and the 1-based
data row. A repeated key (pupil, school, date, session) is found by
:func:`repeated_marks` (``evaluate data check``) and by
:func:`~evaluate.registers.register_measures`. Parquet is typed, so malformed values there
(a session ``XX``, a missing date) are counted and reported by
:func:`~evaluate.registers.register_measures` instead.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import ibis

from evaluate.errors import InputError

__all__ = ["MARK_COLUMNS", "check_csv", "connect", "read_marks", "repeated_marks"]

#: The columns of a marks table, in order.
MARK_COLUMNS: tuple[str, ...] = ("pupil_id", "urn", "date", "session", "code")
#: Other names accepted for the columns.
ALIASES: dict[str, str] = {"school_urn": "urn", "upn": "pupil_id", "pupil": "pupil_id",
                           "mark": "code", "attendance_code": "code", "session_date": "date"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Longest attendance code and pupil id accepted (national codes have one or two characters).
MAX_CODE = 4
MAX_PUPIL_ID = 256


def connect(engine: str | Any = "duckdb", *, memory_limit: str = "4GB", threads: int = 2,
            temp_directory: str | Path | None = None) -> Any:
    """An Ibis backend for the registers stage.

    Parameters
    ----------
    engine
        ``'duckdb'`` (embedded, the default), ``'pyspark'`` (a local ``local[threads]``
        session with ``4 * threads`` shuffle partitions, or the active Spark session, as
        configured, when there is one) or an already connected Ibis backend (returned
        unchanged).
    memory_limit, threads, temp_directory
        DuckDB settings: the memory it may use before spilling to ``temp_directory``
        (default: a folder under the system temporary folder), and the worker threads.

    Examples
    --------
    >>> from evaluate.registers import connect
    >>> con = connect("duckdb", memory_limit="1GB", threads=1)
    >>> con.name
    'duckdb'
    """
    if not isinstance(engine, str):
        return engine
    if engine == "duckdb":
        tmp = Path(temp_directory) if temp_directory else Path(tempfile.gettempdir()) / "evaluate_duckdb"
        tmp.mkdir(parents=True, exist_ok=True)
        return ibis.duckdb.connect(memory_limit=memory_limit, threads=threads,
                                   temp_directory=str(tmp), preserve_insertion_order=False)
    if engine == "pyspark":
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession() or (
            SparkSession.builder.master(f"local[{threads}]").appName("evaluate-registers")
            .config("spark.sql.session.timeZone", "UTC")
            # Spark's default of 200 shuffle partitions is for clusters: on local[n] each
            # small query would run 200 tasks (10M marks: 55 s with 200, see benchmarks/RESULTS.md)
            .config("spark.sql.shuffle.partitions", str(4 * threads))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.ui.enabled", "false").getOrCreate())
        return ibis.pyspark.connect(session)
    raise InputError(f"unknown engine {engine!r}: use 'duckdb', 'pyspark' or an Ibis backend",
                     column="engine")


def _files(path: Path, ext: str) -> list[Path]:
    if path.is_dir():
        return sorted(path.rglob(f"*.{ext}"))
    if any(ch in str(path) for ch in "*?["):
        return sorted(Path(path.anchor or ".").glob(str(path.relative_to(path.anchor or "."))))
    return [path] if path.exists() else []


def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("parquet", "csv"):
            raise InputError(f"format must be 'parquet' or 'csv', not {fmt!r}", column="format")
        return fmt
    if path.is_dir():
        if next(path.rglob("*.parquet"), None) is not None:
            return "parquet"
        if next(path.rglob("*.csv"), None) is not None:
            return "csv"
        raise InputError("no .parquet or .csv files in the folder", file=str(path))
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".parq"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    raise InputError("cannot tell the format from the name: pass format='parquet' or 'csv'",
                     file=str(path))


def check_csv(path: str | Path, *, block_size: int = 1 << 24) -> int:
    """Check a marks CSV row by row (streaming) and return its number of data rows.

    Raises
    ------
    InputError
        A required column is missing, or the first row with a session other than
        ``AM``/``PM``, a date not written ``YYYY-MM-DD`` (or not a calendar date), an
        empty pupil id or code, or a URN that is not a whole number; naming the file, the
        column and the 1-based data row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.registers import check_csv
    >>> from evaluate import InputError
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.csv").write_text(
    ...     "pupil_id,urn,date,session,code\\n1,100,2024-09-04,AM,/\\n1,100,2024-09-04,XM,/\\n")
    >>> try:
    ...     check_csv(folder / "m.csv")
    ... except InputError as err:
    ...     print(err.column, err.row)
    session 2
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    path = Path(path)
    name = str(path)
    try:
        reader = csv.open_csv(path, read_options=csv.ReadOptions(block_size=block_size),
                              convert_options=csv.ConvertOptions(
                                  column_types={}, strings_can_be_null=False,
                                  auto_dict_encode=False))
    except (pa.ArrowInvalid, OSError) as err:
        _locate_problem(path)
        raise InputError(f"cannot read the CSV: {err}", file=name) from None
    cols = [ALIASES.get(c, c) for c in reader.schema.names]
    for need in MARK_COLUMNS:
        if need not in cols:
            raise InputError(f"required column missing (columns present: {', '.join(cols)})",
                             file=name, column=need, row=0)
    index = {c: reader.schema.names[cols.index(c)] for c in MARK_COLUMNS}
    seen = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as err:
            _locate_problem(path, start=seen)
            raise InputError(f"malformed CSV after data row {seen}: {err}", file=name,
                             row=seen + 1) from None
        n = batch.num_rows
        get = {c: batch.column(batch.schema.get_field_index(index[c])) for c in MARK_COLUMNS}
        try:
            for col in MARK_COLUMNS:
                get[col] = pc.cast(get[col], pa.string())
        except pa.ArrowInvalid as err:  # bytes that are not UTF-8
            _locate_problem(path, start=seen)
            raise InputError(f"malformed CSV after data row {seen}: {err}", file=name,
                             row=seen + 1) from None
        checks = [
            ("session", pc.invert(pc.is_in(get["session"], pa.array(["AM", "PM"]))),
             "session must be AM or PM"),
            ("date", pc.invert(pc.match_substring_regex(get["date"], _DATE.pattern)),
             "date must be written YYYY-MM-DD"),
            ("urn", pc.invert(pc.match_substring_regex(get["urn"], r"^\d{1,9}$")),
             "URN must be a whole number (of at most 9 digits)"),
            ("pupil_id", pc.equal(pc.utf8_length(get["pupil_id"]), 0), "empty pupil id"),
            ("code", pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(get["code"])), 0),
             "empty code"),
            ("code", pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(get["code"])), MAX_CODE),
             f"an attendance code has at most {MAX_CODE} characters (is the column right?)"),
            ("pupil_id", pc.greater(pc.utf8_length(get["pupil_id"]), MAX_PUPIL_ID),
             f"a pupil id has at most {MAX_PUPIL_ID} characters"),
        ]
        for col, bad, what in checks:
            bad = pc.fill_null(bad, True)
            if pc.any(bad).as_py():
                i = int(pc.index(bad, True).as_py())
                raise InputError(f"{what}: {_short(get[col][i].as_py())!r}", file=name,
                                 column=index[col], row=seen + i + 1)
        dates = pc.strptime(get["date"], format="%Y-%m-%d", unit="s", error_is_null=True)
        back = pc.strftime(dates, format="%Y-%m-%d")    # 2024-02-30 does not come back
        bad = pc.fill_null(pc.not_equal(back, get["date"]), True)
        if pc.any(bad).as_py():
            i = int(pc.index(bad, True).as_py())
            raise InputError(f"not a calendar date: {get['date'][i].as_py()!r}", file=name,
                             column=index["date"], row=seen + i + 1)
        seen += n
    return seen


def _short(v: object, n: int = 60) -> object:
    return v if not isinstance(v, str) or len(v) <= n else v[:n] + f"... ({len(v):,} characters)"


def _locate_problem(path: Path, start: int = 0) -> None:
    """Find the first row (after data row ``start``) that is not UTF-8 or has the wrong
    number of fields, and raise an InputError naming it; return if none is found.

    Lines are read one by one (register marks hold no quoted line breaks)."""
    import csv
    import gzip

    name = str(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        try:
            header = next(csv.reader([fh.readline().decode("utf-8-sig").rstrip("\r\n")]))
        except (UnicodeDecodeError, StopIteration):
            raise InputError("the header is not UTF-8 text", file=name, row=0) from None
        row = 0
        for line in fh:
            if not line.strip():
                continue
            row += 1
            if row <= start:
                continue
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                col = header[min(line[: exc.start].count(b","), len(header) - 1)].strip()
                raise InputError(f"the file is not UTF-8 (byte 0x{line[exc.start]:02x} cannot be "
                                 "decoded; save it as UTF-8)", file=name, column=col, row=row) from None
            try:
                rec = next(csv.reader([text]))
            except csv.Error as exc:
                raise InputError(f"the row is not valid CSV ({exc})", file=name, row=row) from None
            if len(rec) != len(header):
                col = header[min(len(rec), len(header)) - 1]
                raise InputError(f"the row has {len(rec)} fields but the header has {len(header)}",
                                 file=name, column=col.strip(), row=row)


def repeated_marks(path: str | Path, *, limit: int = 20) -> list[InputError]:
    """Marks of a CSV that repeat a pupil, school, date and session, with their rows.

    The repeated keys are found by DuckDB (out of core), then their rows by one streaming
    pass; each repeat is one :class:`~evaluate.errors.InputError` naming the file, the
    column ``session`` and the row of the repeat, and the row it repeats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.registers.read import repeated_marks
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.csv").write_text(
    ...     "pupil_id,urn,date,session,code\\nP1,100,2024-09-04,AM,/\\nP1,100,2024-09-04,AM,L\\n")
    >>> [p.message for p in repeated_marks(folder / "m.csv")]
    ['pupil P1, URN 100, 2024-09-04 AM has a mark already (row 1)']
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    path = Path(path)
    name = str(path)
    reader = csv.open_csv(path, convert_options=csv.ConvertOptions(
        column_types={}, strings_can_be_null=False))
    names = reader.schema.names
    col = {ALIASES.get(c, c): c for c in names}
    key = [col[c] for c in ("pupil_id", "urn", "date", "session")]
    con = duckdb.connect()
    try:
        q = ", ".join(f'"{k}"' for k in key)
        reps = con.execute(f"SELECT {q} FROM read_csv(?, all_varchar=true, header=true) "
                           f"GROUP BY ALL HAVING count(*) > 1 LIMIT {int(limit)}", [str(path)]).fetchall()
    finally:
        con.close()
    if not reps:
        return []
    wanted = {tuple(r): [] for r in reps}
    seen = 0
    for batch in reader:
        cols = [pc.cast(batch.column(batch.schema.get_field_index(k)), pa.string()) for k in key]
        for k in wanted:
            mask = pc.and_(pc.and_(pc.equal(cols[0], k[0]), pc.equal(cols[1], k[1])),
                           pc.and_(pc.equal(cols[2], k[2]), pc.equal(cols[3], k[3])))
            idx = pc.indices_nonzero(mask).to_pylist()
            wanted[k] += [seen + i + 1 for i in idx]
        seen += batch.num_rows
    out = []
    for (pupil, urn, date, session), rows in wanted.items():
        for r in rows[1:]:
            out.append(InputError(f"pupil {pupil}, URN {urn}, {date} {session} has a mark already "
                                  f"(row {rows[0]})", file=name, column=col["session"], row=r))
    return sorted(out, key=lambda e: e.row or 0)


def read_marks(path: str | Path, *, engine: str | Any = "duckdb", format: str | None = None,  # noqa: A002
               check: bool = True, **connect_options: Any) -> ibis.Table:
    """Read register marks into an Ibis table on ``engine``.

    Parameters
    ----------
    path
        A Parquet or CSV file, a folder (every ``*.parquet`` / ``*.csv`` under it, hive
        partitions included) or a glob.
    engine
        ``'duckdb'`` (default), ``'pyspark'`` or a connected Ibis backend
        (see :func:`connect`).
    format
        ``'parquet'`` or ``'csv'``; default: from the file names.
    check
        Check CSV files row by row first (:func:`check_csv`); Parquet is not checked
        here (malformed values are counted by ``register_measures``).
    **connect_options
        Passed to :func:`connect` (``memory_limit``, ``threads``, ``temp_directory``).

    Returns
    -------
    ibis.Table
        Columns ``pupil_id, urn, date, session, code`` (``urn`` int64, ``date`` a date,
        ``session`` and ``code`` strings).

    Raises
    ------
    InputError
        No files, an unknown format or engine, a missing column, or (CSV) a malformed row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.registers import read_marks
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.csv").write_text(
    ...     "pupil_id,urn,date,session,code\\nP1,100,2024-09-04,AM,/\\nP1,100,2024-09-04,PM,I\\n")
    >>> marks = read_marks(folder / "m.csv")
    >>> marks.columns, int(marks.count().execute())
    (('pupil_id', 'urn', 'date', 'session', 'code'), 2)
    """
    path = Path(path)
    fmt = _format(path, format)
    files = _files(path, fmt)
    if not files:
        raise InputError(f"no {fmt} files found", file=str(path))
    con = connect(engine, **connect_options)
    names = [str(f) for f in files]
    if fmt == "csv":
        if check:
            for f in files:
                check_csv(f)
        if con.name == "duckdb":
            t = con.read_csv(names, all_varchar=True)
        else:  # Spark reads a folder (and its hive partitions) or a glob itself
            t = con.read_csv(str(path), header=True, inferSchema=False)
    elif con.name == "duckdb":
        t = con.read_parquet(names, hive_partitioning=len(files) > 1 and path.is_dir(),
                             union_by_name=True)
    else:
        t = con.read_parquet(str(path))
    t = t.rename({ALIASES[c]: c for c in t.columns if c in ALIASES and ALIASES[c] not in t.columns})
    missing = [c for c in MARK_COLUMNS if c not in t.columns]
    if missing:
        raise InputError(f"required column missing (columns present: {', '.join(t.columns)})",
                         file=str(path), column=missing[0], row=0)
    date = t.date
    if not date.type().is_date():
        date = date.cast("date") if not date.type().is_string() else date.cast("string").as_date("%Y-%m-%d")
    return t.select(
        pupil_id=t.pupil_id,
        urn=t.urn.cast("int64"),
        date=date,
        session=t.session.cast("string"),
        code=t.code.cast("string"),
    )

