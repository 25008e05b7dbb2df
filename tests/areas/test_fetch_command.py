"""`evaluate data fetch` against a local HTTP server: checksums, the cache, refused URLs."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

BODY = b"time_period,geographic_level\n202324,Local authority\n"


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    (root / "la.csv").write_bytes(BODY)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):  # quiet
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _run(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evaluate.cli", "data", "fetch", "--config", str(cfg), *args],
                          capture_output=True, text=True, cwd=cfg.parent, timeout=120)


def test_fetch_downloads_verifies_and_caches(tmp_path, server):
    sha = hashlib.sha256(BODY).hexdigest()
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text(f"fetch:\n  sources:\n    - {{name: la, url: '{server}/la.csv', sha256: {sha}}}\n", encoding="utf-8")
    first = _run(cfg)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "data" / "la" / "la.csv").read_bytes() == BODY
    second = _run(cfg)
    assert second.returncode == 0 and "cached" in second.stdout


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path, server):
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text(f"fetch:\n  sources:\n    - {{name: la, url: '{server}/la.csv', sha256: {'0' * 64}}}\n",
                   encoding="utf-8")
    out = _run(cfg)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "sha256" in out.stderr.lower() or "checksum" in out.stderr.lower()
    assert not (tmp_path / "data" / "la" / "la.csv").exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1/a.csv;touch${IFS}pwned", "file:///etc/passwd",
                                 "http://127.0.0.1/$(id).csv", "https://example.org/a.csv`id`"])
def test_a_url_with_shell_characters_is_refused_when_the_configuration_is_read(tmp_path, url):
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text(f"fetch:\n  sources:\n    - {{name: la, url: '{url}', sha256: {'0' * 64}}}\n", encoding="utf-8")
    out = _run(cfg)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "fetch.sources.0" in out.stderr
    assert not (tmp_path / "pwned").exists()
