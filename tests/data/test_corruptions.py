"""Generated corruptions of every input format: a clear error, or the same result with every
difference recorded; never a traceback.

Clean inputs (17 CSV formats): samples of the nine real files in ``../shared/data`` (the
four LA year-to-date files, the weekly file, the long table of releases (gzipped), the
persistent-absence file, the GIAS links (Windows-1252) and establishment types) and the
eight synthetic formats (a school-level absence file, the national/regional/LA absence
aggregate, GIAS establishments and links, hubs, mentor areas, priority areas, register
marks).

Eleven kinds of corruption (:mod:`tests.data.corrupt`): duplicate rows, sign flips,
swapped columns (header and values moved together), truncated rows, wrong encodings
(UTF-16 with and without BOM, UTF-32, Windows-1252 or UTF-8 instead of the file's own,
a byte that no accepted encoding decodes), stray symbols (DfE's and others), shuffled
headers (names permuted over the values), empty fields, huge fields (40,000-120,000
characters), a UTF-8 BOM and CRLF line endings. Per CSV format: 3 draws of each of the
nine kinds with random positions and 1 of BOM and of CRLF; 17 formats give 492 draws
(Hypothesis drops one repeated draw), of which 11 find no place (no number to flip in a
programme file, no cell a stray symbol would break): 481 corrupted CSV inputs with the
real files present (232 draws from the 8 synthetic formats alone). ``evaluation.yml``
gets 34 more (:func:`test_configuration_corruptions`: 4 of each of 8 kinds with random
positions, 1 BOM, 1 CRLF). In all 515 corrupted inputs; measured outcomes (2026-12,
EVALUATE_CORRUPTION_TALLY=1): 237 refused with an InputError, 159 with breaches listed,
112 read the same, 7 read with every difference recorded as a symbol; 0 tracebacks;
about 35 s.

For each corrupted CSV, ``evaluate data check``'s reader (:func:`evaluate.check.inspect`)
either raises an :class:`~evaluate.errors.InputError` naming the file (and, for a
corruption in one row, that row and a column), or lists breaches (each naming file,
column and row; one of them the corrupted row), or reads a result equal to the clean
file's except at cells recorded as symbols. Swapped columns, a BOM and CRLF must read
clean. Where breaches are listed, the pipeline's reader (which enforces them) refuses the
file with the first of them. Hypothesis runs derandomized (the same inputs every run).
A sample of 30 corrupted files goes through the command line in one subprocess: one
``error:`` line or a listing per file, exit 1 or 2, no traceback.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluate.check import inspect
from evaluate.data.invariants import FORMATS
from evaluate.errors import InputError

from .conftest import SHARED
from .corrupt import KINDS, Table, corrupt, write

#: Examples of each kind per format (the docstring states the totals).
EXAMPLES = {k: (1 if k in ("BOM", "CRLF") else 3) for k in KINDS}
SETTINGS = settings(derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.large_base_example])


# --- clean inputs --------------------------------------------------------------------------

def _records(data: bytes, encoding: str) -> tuple[list[str], list[list[str]]]:
    recs = [r for r in csv.reader(io.StringIO(data.decode(encoding), newline="")) if r]
    return recs[0], recs[1:]


def _sample_ees(header, rows, *, n_las: int, keep=lambda r, c: True):
    col = {c: k for k, c in enumerate(header)}
    las: list[str] = []
    out = []
    for r in rows:
        if not keep(r, col):
            continue
        if r[col["geographic_level"]] == "Local authority":
            code = r[col["new_la_code"]]
            if code not in las:
                if len(las) >= n_las:
                    continue
                las.append(code)
        out.append(r)
    return out


REAL = {
    "real LA ytd 2022/23": ("attendance_la_ytd_202223.csv", dict(n_las=12)),
    "real LA ytd 2023/24": ("attendance_la_ytd_202324.csv", dict(n_las=12)),
    "real LA ytd 2024/25": ("attendance_la_ytd_202425.csv", dict(n_las=12)),
    "real LA ytd 2025/26": ("attendance_la_ytd_202526.csv", dict(n_las=12)),
    "real LA weekly 2025/26": ("attendance_la_weekly_202526_partial.csv",
                               dict(n_las=8, keep=lambda r, c: r[c["time_identifier"]] in ("Week 37", "Week 38"))),
    "real long table (gz)": ("attendance_la_weekly_panel.csv.gz",
                             dict(n_las=3, keep=lambda r, c: r[c["academic_year"]] == "2025/26"
                                  and r[c["week_number"]] in ("37", "38", "39"))),
    "real persistent absence": ("attendance_pa_week29_202425.csv",
                                dict(n_las=10, keep=lambda r, c: r[c["time_identifier"]] in ("Week 29", "Week 30"))),
}


def _build_real(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    if not SHARED.exists():
        return out
    for label, (name, how) in REAL.items():
        data = (SHARED / name).read_bytes()
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        header, rows = _records(data, "utf-8")
        body = write(header, _sample_ees(header, rows, **how))
        path = folder / name
        path.write_bytes(gzip.compress(body, mtime=0) if name.endswith(".gz") else body)
        out[label] = path
    header, rows = _records((SHARED / "gias_links_edubasealldata20250422.csv").read_bytes(), "cp1252")
    odd = [r for r in rows if any(ord(ch) > 127 for f in r for ch in f)]
    out["real GIAS links (cp1252)"] = folder / "links_real.csv"
    out["real GIAS links (cp1252)"].write_bytes(write(header, rows[:200] + odd, encoding="cp1252"))
    out["real GIAS types"] = SHARED / "gias_establishment_types_20250422.csv"
    return out


def _marks(n: int = 240) -> bytes:
    rng = np.random.default_rng(5)
    days = pd.bdate_range("2024-09-02", "2024-12-20").strftime("%Y-%m-%d")
    seen, rows = set(), []
    codes = ["/", "\\", "I", "M", "L", "U", "O", "G", "B", "#"]
    while len(rows) < n:
        key = (f"P{rng.integers(1, 30):04d}", str(rng.choice([100001, 100002])), str(rng.choice(days)),
               str(rng.choice(["AM", "PM"])))
        if key not in seen:
            seen.add(key)
            rows.append([*key, str(rng.choice(codes))])
    return write(["pupil_id", "urn", "date", "session", "code"], rows)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, tuple[Path, Table]]:
    from evaluate import synthetic

    folder = tmp_path_factory.mktemp("clean")
    synthetic.generate(folder / "synth", seed=19, n_schools=50)
    s = folder / "synth"
    paths = _build_real(folder)
    agg = s / "absence" / "absence_nat_reg_la.csv"
    header, rows = _records(agg.read_bytes(), "utf-8")
    col = header.index("time_period")
    (folder / "absence_nat_reg_la.csv").write_bytes(
        write(header, [r for r in rows if r[col] == "202223" and r[1] == "Autumn term"]))
    (folder / "marks.csv").write_bytes(_marks())
    paths |= {
        "synthetic school absence": s / "absence" / "school_absence_202223.csv",
        "synthetic absence aggregate": folder / "absence_nat_reg_la.csv",
        "synthetic GIAS establishments": s / "gias" / "edubasealldata.csv",
        "synthetic GIAS links": s / "gias" / "links_edubasealldata.csv",
        "synthetic hubs": s / "programmes" / "hubs.csv",
        "synthetic mentor areas": s / "programmes" / "mentor_areas.csv",
        "synthetic priority areas": s / "programmes" / "priority_areas.csv",
        "synthetic register marks": folder / "marks.csv",
    }
    out = {}
    for label, path in paths.items():
        ins = inspect(path)
        assert ins.problems == [] and ins.frame is not None, (label, ins.problems[:3])
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        enc = "cp1252" if "cp1252" in label else "utf-8"
        fmt = None if ins.format.startswith("ees") else FORMATS[ins.format]
        out[label] = (path, Table.parse(data, enc, fmt))
    return out


FORMAT_LABELS = [*REAL, "real GIAS links (cp1252)", "real GIAS types", "synthetic school absence",
                 "synthetic absence aggregate", "synthetic GIAS establishments", "synthetic GIAS links",
                 "synthetic hubs", "synthetic mentor areas", "synthetic priority areas",
                 "synthetic register marks"]
CASES = [(f, k) for f in FORMAT_LABELS for k in KINDS]


# --- the property ------------------------------------------------------------------------

def _frame(ins) -> pd.DataFrame:
    f = ins.frame
    if ins.kind == "register_marks":  # DuckDB does not keep the row order
        f = f.astype(str).sort_values(list(f.columns)).reset_index(drop=True)
    return f


def unexplained(clean_ins, got) -> list[str]:
    """Differences between two readings that no record explains."""
    a, b = _frame(clean_ins), _frame(got)
    if set(a.columns) != set(b.columns):
        return [f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"]
    if not a.index.equals(b.index):
        return [f"rows differ: {len(a)} clean, {len(b)} read"]
    recorded = set(zip(got.records["column"], got.records["row"].astype(int), strict=True))
    out = []
    for c in a.columns:
        x, y = a[c].astype(object).to_numpy(), b[c].astype(object).to_numpy()
        both_na = pd.isna(x) & pd.isna(y)
        with np.errstate(invalid="ignore"):
            same = both_na | np.array([bool(u == v) if not (pd.isna(u) or pd.isna(v)) else False
                                       for u, v in zip(x, y, strict=True)])
        for r in a.index[~same]:
            if (c, int(r)) not in recorded:
                out.append(f"{c} row {r}: {a.at[r, c]!r} -> {b.at[r, c]!r}")
    return out


def _names(err: InputError, path: Path, row: int | None) -> bool:
    if err.file is None or Path(str(err.file)).name != path.name:
        return False
    if row is None or row == 0:
        return True
    return err.column is not None and (err.row == row or f"row {row}" in err.message)


def _enforcing_reader(path: Path, kind: str):
    from evaluate.data import programmes as prog
    from evaluate.data.ees import read_ees
    from evaluate.data.gias import read_establishments, read_links

    if kind == "ees":
        return read_ees(path)
    if kind == "gias_links":
        return read_links(path)
    if kind == "gias_establishments":
        return read_establishments(path)
    if kind == "hubs":
        return prog._read(path, ("hub_id", "lead_urn", "member_urn", "join_date"), str(path), "hubs")
    if kind == "mentor_areas":
        return prog.read_mentor_areas(path)
    if kind == "priority_areas":
        return prog.read_priority_areas(path)
    return None


TALLY: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _tally():
    """With EVALUATE_CORRUPTION_TALLY=1 (and -s), print how each input ended."""
    yield
    if os.environ.get("EVALUATE_CORRUPTION_TALLY"):
        by_kind: dict[str, Counter] = {}
        for (_label, kind, outcome), n in TALLY.items():
            by_kind.setdefault(kind, Counter())[outcome] += n
        print(f"\n{sum(TALLY.values())} corrupted inputs")
        for kind, c in by_kind.items():
            print(f"  {kind:16} {dict(c)}")


def check_one(label: str, kind: str, rng: random.Random, clean, folder: Path) -> None:
    path, table = clean[label]
    made = corrupt(table, kind, rng)
    if made is None:  # no place for it in this file (e.g. no number to flip)
        TALLY[(label, kind, "no place")] += 1
        return
    data, what = made
    target = folder / path.name
    target.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    try:
        got = inspect(target)
    except InputError as err:
        assert not KINDS[kind], f"{label}, {kind} ({what}): must read clean, got {err}"
        assert _names(err, target, what.row), f"{label}, {kind} ({what}): {err} (file={err.file})"
        TALLY[(label, kind, "refused")] += 1
        return
    if got.problems:
        assert not KINDS[kind], f"{label}, {kind}: must read clean, got {got.problems[0]}"
        for p in got.problems:
            assert p.file == str(target) and p.column is not None and p.row is not None, p
        if what.row:
            assert any(p.row == what.row or f"row {what.row}" in p.message for p in got.problems), (
                f"{label}, {kind} ({what}): breaches name other rows: {[str(p) for p in got.problems[:3]]}")
        try:
            _enforcing_reader(target, got.kind)
        except InputError as err:
            first = got.problems[0]
            assert (err.column, err.row) == (first.column, first.row), (str(err), str(first))
        else:
            assert got.kind in ("gias_types", "register_marks"), f"{label}: the reader took a file with breaches"
        TALLY[(label, kind, "breaches listed")] += 1
        return
    base = inspect(path)
    diff = unexplained(base, got)
    assert diff == [], f"{label}, {kind} ({what}): unrecorded differences {diff[:5]}"
    TALLY[(label, kind, "same result" if got.records.equals(base.records) else "recorded")] += 1


@pytest.mark.parametrize(("label", "kind"), CASES, ids=[f"{f}: {k}" for f, k in CASES])
def test_corrupted_inputs(label, kind, clean, tmp_path):
    if label not in clean:
        pytest.skip(f"real DfE files not found at {SHARED} (set EVALUATE_SHARED_DATA)")

    @settings(SETTINGS, max_examples=EXAMPLES[kind])
    @given(rng=st.randoms(use_true_random=False))
    def run(rng):
        check_one(label, kind, rng, clean, tmp_path)

    run()


def test_the_comparison_sees_an_unrecorded_change(clean, tmp_path):
    """The property is not blind: a changed name (free text, so no breach) is reported."""
    path, table = clean["synthetic GIAS establishments"]
    rows = [list(r) for r in table.rows]
    rows[3][table.header.index("EstablishmentName")] = "Renamed School"
    (tmp_path / path.name).write_bytes(write(table.header, rows))
    got = inspect(tmp_path / path.name)
    assert got.problems == []
    assert unexplained(inspect(path), got) == ["EstablishmentName row 4: " + repr(table.rows[3][
        table.header.index("EstablishmentName")]) + " -> 'Renamed School'"]


# --- the command line, for a sample ---------------------------------------------------------

def test_command_line_sample_has_no_traceback(clean, tmp_path):
    """30 corrupted files through `evaluate data check` in one subprocess."""
    rng = random.Random(7)
    labels = [lab for lab in ("synthetic school absence", "synthetic GIAS links", "synthetic hubs",
                              "real LA ytd 2023/24", "real long table (gz)", "synthetic register marks")
              if lab in clean]
    files = []
    kinds = [k for k in KINDS if not KINDS[k]]
    while len(files) < 30:
        lab = labels[len(files) % len(labels)]
        path, table = clean[lab]
        made = corrupt(table, kinds[len(files) % len(kinds)], rng)
        if made is None:
            continue
        target = tmp_path / f"{len(files):02d}_{path.name}"
        target.write_bytes(gzip.compress(made[0]) if path.suffix == ".gz" else made[0])
        files.append(target)
    code = "from evaluate.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "data", "check", *map(str, files)],
                         capture_output=True, text=True, timeout=600)
    assert "Traceback" not in out.stderr + out.stdout
    assert out.returncode in (1, 2)
    errors = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert all(ln.startswith("error: file ") for ln in errors), errors
    listed = out.stdout.count("  problems: ")
    assert len(errors) + listed == len(files), (len(errors), listed)
    assert listed and errors


# --- the run configuration ----------------------------------------------------------------

CONFIG = """\
seed: 11
output: out
data:
  source: synthetic
  dir: synth
  synthetic: {schools: 400}
programmes:
  mentors: {enabled: false, partial_areas: include}
panel: {cohort_rule: mostly_exposed}
matching: {enabled: false, pre_years: 3, caliper: 0.2, ratio: 1}
disclosure: {pupil_threshold: 10, secondary: true}
fetch: {retries: 2, backoff: 0.5, timeout: 30}
reports: [data-quality]
"""
#: (line, setting, value) of the typed values in CONFIG a corruption may change; free text
#: (paths, report names) and optional settings (``null`` means the default) are left alone.
TYPED = [(0, "seed", "11"), (3, "data.source", "synthetic"), (5, "data.synthetic.schools", "400"),
         (7, "programmes.mentors.enabled", "false"), (7, "programmes.mentors.partial_areas", "include"),
         (8, "panel.cohort_rule", "mostly_exposed"), (9, "matching.pre_years", "3"),
         (9, "matching.ratio", "1"), (10, "disclosure.pupil_threshold", "10"),
         (10, "disclosure.secondary", "true"), (11, "fetch.retries", "2"), (11, "fetch.backoff", "0.5"),
         (11, "fetch.timeout", "30")]
CONFIG_KINDS = ["duplicate line", "sign flip", "stray symbol", "empty value", "huge value",
                "truncated key", "wrong encoding", "reordered blocks", "BOM", "CRLF"]


def _corrupt_config(kind: str, rng: random.Random) -> tuple[bytes, str | None, bool]:
    """(bytes, setting that must be named or None, must read the same)."""
    lines = CONFIG.splitlines()
    if kind == "duplicate line":
        i = rng.randrange(len(lines))
        lines.insert(i + 1, lines[i])
        return ("\n".join(lines) + "\n").encode(), None, True
    if kind in ("sign flip", "stray symbol", "empty value", "huge value"):
        pool = [t for t in TYPED if kind != "sign flip" or t[2][0].isdigit()]
        if kind == "empty value":
            pool = [t for t in pool if t[1] != "data.synthetic.schools"]  # optional: null = default
        i, setting, value = rng.choice(pool)
        new = {"sign flip": "-" + value, "stray symbol": rng.choice(["c", "x", "z", "low", ":", ".", "NaN"]),
               "empty value": "", "huge value": rng.choice("9x") * rng.randrange(5_000, 60_000)}[kind]
        key = setting.rsplit(".", 1)[-1]
        line = lines[i]
        if f"{key}: {value}" in line:
            line = line.replace(f"{key}: {value}", f"{key}: {new}" if new else f"{key}:", 1)
        lines[i] = line
        if kind == "empty value" and "{" in line:
            lines[i] = line.replace(f"{key}:,", f"{key}: ,").replace(f"{key}:}}", f"{key}: }}")
        return ("\n".join(lines) + "\n").encode(), setting, False
    if kind == "truncated key":
        i = rng.randrange(len(lines))
        stripped = lines[i].lstrip()
        indent = len(lines[i]) - len(stripped)
        keylen = stripped.index(":")
        lines[i] = lines[i][: indent + rng.randrange(1, keylen + 1)]
        return ("\n".join(lines) + "\n").encode(), None, False
    if kind == "wrong encoding":
        how = rng.choice(["utf-16", "utf-32", "invalid byte", "cp1252"])
        if how == "invalid byte":
            pos = rng.randrange(len(CONFIG))
            return CONFIG[:pos].encode() + rng.choice([b"\x81", b"\xff", b"\xc3"]) + CONFIG[pos:].encode(), None, False
        return CONFIG.encode(how), None, how == "cp1252"
    if kind == "reordered blocks":
        blocks, cur = [], []
        for ln in lines:
            if not ln.startswith(" ") and cur:
                blocks.append(cur)
                cur = []
            cur.append(ln)
        blocks.append(cur)
        rng.shuffle(blocks)
        return ("\n".join(ln for b in blocks for ln in b) + "\n").encode(), None, True
    if kind == "BOM":
        return b"\xef\xbb\xbf" + CONFIG.encode(), None, True
    if kind == "CRLF":
        return CONFIG.replace("\n", "\r\n").encode(), None, True
    raise ValueError(kind)


@pytest.mark.parametrize("kind", CONFIG_KINDS)
def test_configuration_corruptions(kind, tmp_path):
    from evaluate.config import load_config

    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "evaluation.yml").write_text(CONFIG, encoding="utf-8")
    base = load_config(tmp_path / "clean" / "evaluation.yml").model_dump()

    @settings(SETTINGS, max_examples=4)
    @given(rng=st.randoms(use_true_random=False))
    def run(rng):
        data, setting, same = _corrupt_config(kind, rng)
        path = tmp_path / "evaluation.yml"
        path.write_bytes(data)
        try:
            cfg = load_config(path)
        except InputError as err:
            assert not same, f"{kind}: must read the same, got {err}"
            assert err.file is not None and Path(err.file).name == "evaluation.yml", err
            if setting is not None and "not valid YAML" not in err.message:
                # a YAML syntax error names the file only (its line is not mapped to a setting)
                assert err.column == setting, (kind, setting, str(err)[:300])
            TALLY[("config", kind, "refused")] += 1
            return
        got = cfg.model_dump()
        assert got == base, f"{kind}: read a different configuration without an error"
        TALLY[("config", kind, "same result")] += 1

    run()
