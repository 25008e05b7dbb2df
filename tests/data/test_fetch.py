"""`evaluate data fetch` against a local HTTP server on 127.0.0.1 (no network)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from evaluate.data.fetch import (
    EES_API,
    Source,
    check_url,
    fetch,
    results_frame,
    safe_destination,
    sources_from_config,
)
from evaluate.errors import InputError

BODY = b"time_period,geographic_level\n202324,National\n"
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    fail_first: dict[str, int] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        left = Handler.fail_first.get(self.path, 0)
        if left:
            Handler.fail_first[self.path] = left - 1
            self.send_response(503)
            self.end_headers()
            return
        if self.path == "/missing.csv":
            self.send_response(404)
            self.end_headers()
            return
        body = BODY if self.path != "/tampered.csv" else BODY + b"202324,Evil\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # silence
        pass


@pytest.fixture
def server():
    Handler.hits = {}
    Handler.fail_first = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def no_sleep(waits):
    return lambda s: waits.append(s)


def test_download_then_cache_hit(server, tmp_path):
    src = Source("la", f"{server}/la.csv", "la.csv", SHA)
    first = fetch([src], tmp_path, sleep=no_sleep([]))
    assert first[0].status == "downloaded" and first[0].attempts == 1
    path = tmp_path / "cache" / "la.csv"
    assert path.read_bytes() == BODY and first[0].sha256 == SHA
    second = fetch([src], tmp_path, sleep=no_sleep([]))
    assert second[0].status == "cached"
    assert Handler.hits["/la.csv"] == 1  # the second call made no request
    manifest = tmp_path / "cache" / "fetch_manifest.json"
    assert sorted((tmp_path / "cache").iterdir()) == [manifest, path]  # no temporary files left
    assert json.loads(manifest.read_text())["files"][0]["sha256"] == SHA
    assert results_frame(second)["status"].tolist() == ["cached"]


def test_corrupt_cached_copy_is_replaced(server, tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "la.csv").write_bytes(b"garbage")
    r = fetch([Source("la", f"{server}/la.csv", "la.csv", SHA)], tmp_path, sleep=no_sleep([]))
    assert r[0].status == "downloaded" and Handler.hits["/la.csv"] == 1
    assert (tmp_path / "cache" / "la.csv").read_bytes() == BODY


def test_checksum_mismatch_refused_and_not_cached(server, tmp_path):
    src = Source("t", f"{server}/tampered.csv", "t.csv", SHA)
    with pytest.raises(InputError, match="checksum mismatch"):
        fetch([src], tmp_path, sleep=no_sleep([]))
    assert list((tmp_path / "cache").iterdir()) == []


def test_retry_after_503_with_backoff(server, tmp_path):
    Handler.fail_first["/flaky.csv"] = 2
    waits: list[float] = []
    r = fetch([Source("f", f"{server}/flaky.csv", "f.csv", SHA)], tmp_path, retries=3,
              backoff=0.5, sleep=no_sleep(waits))
    assert r[0].status == "downloaded" and r[0].attempts == 3
    assert waits == [0.5, 1.0]  # exponential backoff
    assert Handler.hits["/flaky.csv"] == 3


def test_gives_up_after_retries_and_does_not_retry_404(server, tmp_path):
    Handler.fail_first["/down.csv"] = 10
    waits: list[float] = []
    with pytest.raises(InputError, match="after 3 attempt"):
        fetch([Source("d", f"{server}/down.csv", "d.csv", SHA)], tmp_path, retries=2,
              backoff=0.1, sleep=no_sleep(waits))
    assert len(waits) == 2
    with pytest.raises(InputError, match="after 1 attempt"):
        fetch([Source("m", f"{server}/missing.csv", "m.csv", SHA)], tmp_path,
              sleep=no_sleep([]))
    assert list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize("url", [
    "ftp://example.org/a.csv", "file:///etc/passwd", "https://example.org/a b.csv",
    "https://example.org/a.csv;rm", "https://example.org/$(id)", "https://example.org/`id`",
    "https://example.org/a.csv'", "https://example.org/a.csv|cat", "https://example.org/a&b",
    "https://user:pw@example.org/a.csv", "example.org/a.csv", "https:///a.csv", "",
    "https://example.org/a.csv\n",
])
def test_bad_urls_refused(url):
    with pytest.raises(InputError):
        check_url(url)


def test_bad_url_refused_before_any_request(server, tmp_path):
    with pytest.raises(InputError, match="forbidden"):
        fetch([Source("x", f"{server}/a.csv;touch", "x.csv", SHA)], tmp_path)
    assert Handler.hits == {}


@pytest.mark.parametrize("dest", ["../x.csv", "a/../../x.csv", "/etc/x.csv", "..", ""])
def test_path_escape_refused(tmp_path, dest):
    with pytest.raises(InputError):
        safe_destination(tmp_path / "cache", dest)


def test_path_escape_refused_in_fetch(server, tmp_path):
    with pytest.raises(InputError, match="outside|'\\.\\.'"):
        fetch([Source("x", f"{server}/la.csv", "../../outside.csv", SHA)], tmp_path)
    assert not (tmp_path.parent / "outside.csv").exists()
    assert Handler.hits == {}


def test_allowed_destinations(tmp_path):
    assert safe_destination(tmp_path, "ees/la.csv") == (tmp_path / "ees" / "la.csv").resolve()
    inside = str(tmp_path / "b.csv")
    assert safe_destination(tmp_path, inside) == Path(inside)


def test_missing_checksum_refused_unless_allowed(server, tmp_path):
    src = Source("u", f"{server}/la.csv", "u.csv", None)
    with pytest.raises(InputError, match="no sha256"):
        fetch([src], tmp_path)
    r = fetch([src], tmp_path, allow_unverified=True, sleep=no_sleep([]))
    assert r[0].sha256 == SHA and not r[0].verified


def test_sources_from_config():
    s = sources_from_config([
        {"name": "a", "url": "https://example.org/a.csv", "sha256": SHA.upper()},
        {"name": "b", "dataset": "abcd1234-0000-1111", "version": "1.2", "dest": "ees/b.csv"},
    ])
    assert s[0].sha256 == SHA and s[0].dest == "a.csv"
    assert s[1].url == f"{EES_API}/data-sets/abcd1234-0000-1111/csv?dataSetVersion=1.2"
    assert s[1].dest == "ees/b.csv"
    for bad in ({"name": "a"}, {"name": "a", "url": "https://x.org", "dataset": "abcdefgh"},
                {"name": "a;b", "url": "https://x.org"}, {"name": "a", "dataset": "../../x"},
                {"name": "a", "url": "https://x.org", "sha256": "abc"},
                {"name": "a", "dataset": "abcdefgh", "version": "1.*"}):
        with pytest.raises(InputError):
            sources_from_config([bad])
