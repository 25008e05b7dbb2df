"""`evaluate data fetch` against a local imitation of the EES service, with every fault.

The server (tests/data/ees_server.py, 127.0.0.1, started here) serves the public API's
``/v1/data-sets/{id}/csv`` and release files behind a redirect, and injects: timeouts,
bodies cut short (resumed, or restarted when the server ignores the range, or changed
meanwhile), wrong checksums, redirects (followed, looping, to a refused URL), HTTP 429
(Retry-After honoured), 500 and 503 (backoff), 404 (not retried) and a changed file
behind the same URL. After every test the cache holds no temporary file and no file that
failed its checksum (:func:`assert_clean`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluate.data.fetch import MANIFEST, Source, fetch, sources_from_config
from evaluate.errors import InputError

from .ees_server import start

BODY = b"time_period,geographic_level,possible_sessions\n" + b"202324,National,1000\n" * 2000
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def ees():
    httpd, state, base = start()
    state.files["ds:7c0e9201-c7c0"] = BODY
    state.files["/blob/f1.csv"] = BODY
    state.files["/la.csv"] = BODY
    yield state, base
    httpd.shutdown()
    httpd.server_close()


def waits() -> tuple[list[float], object]:
    seen: list[float] = []
    return seen, seen.append


def assert_clean(data_dir: Path, cache: str = "cache") -> None:
    """No temporary file; every file in the cache is in the manifest with its checksum."""
    folder = data_dir / cache
    if not folder.exists():
        return
    files = {p.name: p for p in folder.rglob("*") if p.is_file()}
    assert not [n for n in files if n.endswith(".part")], files
    manifest = json.loads((folder / MANIFEST).read_text()) if MANIFEST in files else {"files": []}
    listed = {Path(f["path"]).name: f["sha256"] for f in manifest["files"]}
    for name, p in files.items():
        if name != MANIFEST:
            assert name in listed, f"{name} is in the cache but not in the manifest"
            assert hashlib.sha256(p.read_bytes()).hexdigest() == listed[name], f"{name} fails its checksum"


def test_the_ees_data_set_endpoint_with_a_version(ees, tmp_path):
    state, base = ees
    src = sources_from_config([{"name": "la", "dataset": "7c0e9201-c7c0", "version": "1.0", "sha256": SHA}],
                              api=f"{base}/v1")
    r = fetch(src, tmp_path)
    assert r[0].status == "downloaded" and (tmp_path / "cache" / "la.csv").read_bytes() == BODY
    assert state.requests[0][0] == "/v1/data-sets/7c0e9201-c7c0/csv?dataSetVersion=1.0"
    assert state.requests[0][1]["accept-encoding"] == "identity"
    line = r[0].line()
    assert "\n" not in line and line.startswith("la: downloaded, 42,047 bytes, sha256 ") and "verified" in line
    again = fetch(src, tmp_path)
    assert again[0].status == "cached" and len(state.requests) == 1  # no request for a verified copy
    assert_clean(tmp_path)


def test_a_release_file_behind_a_redirect(ees, tmp_path):
    state, base = ees
    r = fetch([Source("f1", f"{base}/api/releases/r1/files/f1", "f1.csv", SHA)], tmp_path)
    assert r[0].status == "downloaded" and "redirected (302) to /blob/f1.csv" in r[0].note
    assert [p for p, _ in state.requests] == ["/api/releases/r1/files/f1", "/blob/f1.csv"]
    assert_clean(tmp_path)


def test_429_waits_at_least_retry_after(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["429"]
    seen, sleep = waits()
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, backoff=0.1, sleep=sleep)
    assert seen == [2.0] and r[0].attempts == 2
    assert "HTTP 429 (Retry-After 2 s)" in r[0].note
    assert_clean(tmp_path)


def test_500_and_503_back_off_exponentially(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["500", "503"]
    seen, sleep = waits()
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, backoff=0.5, sleep=sleep)
    assert seen == [0.5, 1.0] and r[0].attempts == 3 and "HTTP 500; HTTP 503" in r[0].note
    assert_clean(tmp_path)


def test_a_timeout_is_retried_and_then_given_up(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["timeout"]
    seen, sleep = waits()
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, timeout=0.3, sleep=sleep)
    assert r[0].status == "downloaded" and "timed out after 0.3 s" in r[0].note
    state.faults["/la.csv"] = ["timeout"] * 3
    with pytest.raises(InputError, match=r"failed after 3 attempt\(s\): timed out") as err:
        fetch([Source("b", f"{base}/la.csv", "b.csv", SHA)], tmp_path, timeout=0.3, retries=2, sleep=sleep)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "cache" / "b.csv").exists()
    assert_clean(tmp_path)


def test_a_cut_body_is_resumed_with_a_range_request(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["cut"]
    seen, sleep = waits()
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, sleep=sleep)
    assert (tmp_path / "cache" / "la.csv").read_bytes() == BODY and r[0].attempts == 2
    second = state.hits("/la.csv")[1]
    assert second["range"] == f"bytes={len(BODY) // 2}-" and second["if-range"] == state.etag("/la.csv")
    assert "body cut short" in r[0].note and f"resumed at byte {len(BODY) // 2:,}" in r[0].note
    assert_clean(tmp_path)


def test_a_cut_body_restarts_when_the_server_ignores_the_range(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["cut", "norange"]
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, sleep=lambda s: None)
    assert (tmp_path / "cache" / "la.csv").read_bytes() == BODY
    assert "the server sent the whole file again: restarted" in r[0].note
    assert_clean(tmp_path)


def test_a_file_that_changes_between_attempts_is_refused_whole(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["cut-then-change"]
    with pytest.raises(InputError, match="checksum mismatch") as err:
        fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path, sleep=lambda s: None)
    # the If-Range no longer matched: the server sent the new file whole, not a spliced one
    assert "range" in state.hits("/la.csv")[1] and "deleted and not used" in err.value.message
    assert not (tmp_path / "cache" / "la.csv").exists()
    assert_clean(tmp_path)


def test_a_wrong_checksum_never_replaces_the_good_cached_copy(ees, tmp_path):
    state, base = ees
    src = [Source("la", f"{base}/la.csv", "la.csv", SHA)]
    fetch(src, tmp_path)
    good = tmp_path / "cache" / "la.csv"
    stamp = good.stat().st_mtime_ns
    state.files["/la.csv"] = BODY + b"202324,Tampered,1\n"
    assert fetch(src, tmp_path)[0].status == "cached"  # no request: the copy verifies
    with pytest.raises(InputError, match="checksum mismatch.*the verified cached copy is kept"):
        fetch(src, tmp_path, refresh=True, sleep=lambda s: None)
    assert good.read_bytes() == BODY and good.stat().st_mtime_ns == stamp
    assert_clean(tmp_path)


def test_a_changed_file_behind_the_same_url_is_refused_until_pinned(ees, tmp_path):
    state, base = ees
    src = [Source("la", f"{base}/la.csv", "la.csv", None)]
    first = fetch(src, tmp_path, allow_unverified=True)
    assert first[0].sha256 == SHA and not first[0].verified and "NOT verified" in first[0].line()
    new = BODY.replace(b"1000", b"1001")
    state.files["/la.csv"] = new
    with pytest.raises(InputError, match="changed since the last fetch.*pin the new sha256.*cached copy is kept"):
        fetch(src, tmp_path, allow_unverified=True, refresh=True)
    assert (tmp_path / "cache" / "la.csv").read_bytes() == BODY
    pinned = fetch([Source("la", f"{base}/la.csv", "la.csv", hashlib.sha256(new).hexdigest())], tmp_path)
    assert pinned[0].status == "downloaded" and "the cached copy failed its checksum" in pinned[0].note
    assert (tmp_path / "cache" / "la.csv").read_bytes() == new
    assert_clean(tmp_path)


def test_redirect_loops_and_refused_redirects_are_not_retried(ees, tmp_path):
    state, base = ees
    with pytest.raises(InputError, match="too many redirects"):
        fetch([Source("x", f"{base}/loop", "x.csv", SHA)], tmp_path, sleep=lambda s: None)
    n = len(state.requests)
    assert n == 6  # the first request and five redirects, once: no retry
    with pytest.raises(InputError, match="forbidden characters"):
        fetch([Source("y", f"{base}/to-bad", "y.csv", SHA)], tmp_path, sleep=lambda s: None)
    assert len(state.requests) == n + 1
    assert_clean(tmp_path)


def test_404_is_not_retried_and_a_failed_copy_is_removed(ees, tmp_path):
    state, base = ees
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "gone.csv").write_bytes(b"garbage")
    with pytest.raises(InputError, match=r"HTTP 404 .*after 1 attempt.*failed its checksum and was removed"):
        fetch([Source("gone", f"{base}/gone.csv", "gone.csv", SHA)], tmp_path, sleep=lambda s: None)
    assert not (tmp_path / "cache" / "gone.csv").exists() and len(state.hits("/gone.csv")) == 1
    assert_clean(tmp_path)


def test_a_part_file_left_by_a_killed_run_is_removed(ees, tmp_path):
    _, base = ees
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / ".la.csv.part").write_bytes(b"half a file")
    r = fetch([Source("la", f"{base}/la.csv", "la.csv", SHA)], tmp_path)
    assert "removed a part file left by an interrupted run" in r[0].note
    assert_clean(tmp_path)


def test_every_source_is_tried_and_every_failure_named(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["404"]
    srcs = [Source("a", f"{base}/la.csv", "a.csv", SHA), Source("b", f"{base}/blob/f1.csv", "b.csv", SHA),
            Source("c", f"{base}/nothing.csv", "c.csv", SHA)]
    lines: list[str] = []
    with pytest.raises(InputError, match=r"source a: HTTP 404.*\(1 more: source c: HTTP 404") as err:
        fetch(srcs, tmp_path, sleep=lambda s: None, on_result=lambda r: lines.append(r.line()))
    assert "\n" not in str(err.value) and [ln.split(":")[0] for ln in lines] == ["b"]
    assert (tmp_path / "cache" / "b.csv").read_bytes() == BODY
    assert_clean(tmp_path)


def test_the_command_line_says_in_one_line_what_happened(ees, tmp_path):
    state, base = ees
    state.faults["/la.csv"] = ["503"]
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text(f"fetch:\n  backoff: 0\n  sources:\n    - {{name: la, url: '{base}/la.csv', sha256: {SHA}}}\n"
                   f"    - {{name: rel, url: '{base}/api/releases/r1/files/f1', sha256: {SHA}}}\n", encoding="utf-8")
    code = "from evaluate.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "data", "fetch", "--config", str(cfg)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("la: downloaded") and "HTTP 503" in lines[0]
    assert lines[1].startswith("rel: downloaded") and "redirected" in lines[1]
    assert_clean(tmp_path / "data", cache="la")
    cfg.write_text(f"fetch:\n  sources:\n    - {{name: la, url: '{base}/la.csv', sha256: {'ab' * 32}}}\n",
                   encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", code, "data", "fetch", "--config", str(cfg), "--refresh"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "checksum mismatch" in err[0]
    assert_clean(tmp_path / "data", cache="la")
