"""Download EES files named in the run configuration: cache, checksums, retries (``evaluate data fetch``).

Each source is a URL (``http``/``https``) or an explore-education-statistics (EES) data-set
identifier, which becomes ``{EES_API}/data-sets/{id}/csv`` (the EES public API's "download
a data set as CSV" endpoint). Safety rules (the security issue):

- a URL must be ``http(s)`` with a host and contain no whitespace, quotes or shell
  metacharacters (``;|&$`<>(){}[]!*\\``): refused with an :class:`InputError`; nothing is
  ever passed to a shell (no ``subprocess``); downloads use :mod:`urllib` only;
- files go to a cache folder inside the project's data folder; a destination from the
  configuration may not escape it (``..``, absolute paths elsewhere): refused;
- each download is written to a temporary file in the cache folder, checked against its
  SHA-256 and only then renamed into place (atomic); a mismatch is refused with a clear
  message and the bad file is deleted, never left in the cache;
- a file already in the cache with the expected SHA-256 is not downloaded again;
- transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with
  exponential backoff (``backoff * 2**k`` seconds); other HTTP errors are not.

A source without a checksum is refused unless ``allow_unverified=True``; then the file's
SHA-256 is computed, reported and recorded so it can be pinned in the configuration.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from evaluate.errors import InputError
from evaluate.io import write_json

__all__ = ["Source", "FetchResult", "check_url", "safe_destination", "sources_from_config",
           "fetch", "results_frame"]

#: Record of the last fetch, written (atomically) in the cache folder.
MANIFEST = "fetch_manifest.json"

#: Base of the EES public API (data-set identifiers become ``{EES_API}/data-sets/{id}/csv``).
EES_API = "https://api.education.gov.uk/statistics/v1"
#: Characters never allowed in a URL (whitespace is checked separately).
FORBIDDEN = set("'\"`;|&$<>(){}[]!*\\")
_SHA = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{7,63}")
CACHE = "cache"
USER_AGENT = "evaluate-data-fetch (+https://github.com; urllib)"


@dataclass(frozen=True)
class Source:
    """One file to download.

    Attributes
    ----------
    name
        Short name (for messages and the default file name).
    url
        The checked ``http(s)`` URL.
    dest
        File name (or relative path) inside the cache folder.
    sha256
        Expected SHA-256 (lower-case hex), or None (only with ``allow_unverified``).

    Examples
    --------
    >>> from evaluate.data.fetch import Source
    >>> Source("la", "https://example.org/la.csv", "la.csv", "0" * 64).dest
    'la.csv'
    """

    name: str
    url: str
    dest: str
    sha256: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What happened to one source: ``status`` is ``cached`` or ``downloaded``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from evaluate.data.fetch import FetchResult
    >>> r = FetchResult("a", "https://x.org/a.csv", Path("c/a.csv"), "0" * 64, "cached", 0, 3, True)
    >>> r.to_dict()["path"], r.status
    ('c/a.csv', 'cached')
    """

    name: str
    url: str
    path: Path
    sha256: str
    status: str
    attempts: int
    bytes: int
    verified: bool

    def to_dict(self) -> dict:
        """A JSON-ready dictionary."""
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def results_frame(results: Iterable[FetchResult]) -> pd.DataFrame:
    """The results as a table (one row per source).

    Examples
    --------
    >>> from pathlib import Path
    >>> from evaluate.data.fetch import FetchResult, results_frame
    >>> r = FetchResult("a", "https://x.org/a.csv", Path("cache/a.csv"), "0" * 64, "cached", 0, 10, True)
    >>> results_frame([r])[["name", "status", "bytes"]].to_dict("records")
    [{'name': 'a', 'status': 'cached', 'bytes': 10}]
    """
    return pd.DataFrame([r.to_dict() for r in results],
                        columns=["name", "url", "path", "sha256", "status", "attempts", "bytes",
                                 "verified"])


def check_url(url: str, *, what: str = "url") -> str:
    """Return ``url`` if it is a safe ``http(s)`` URL, else raise :class:`InputError`.

    Examples
    --------
    >>> from evaluate.data.fetch import check_url
    >>> check_url("https://example.org/data.csv")
    'https://example.org/data.csv'
    >>> try:
    ...     check_url("https://example.org/a.csv; rm -rf ~")
    ... except Exception as err:
    ...     print(type(err).__name__)
    InputError
    """
    if not isinstance(url, str) or not url:
        raise InputError("the URL is empty", column=what)
    if any(c.isspace() for c in url):
        raise InputError(f"the URL {url!r} contains whitespace", column=what)
    bad = sorted(set(url) & FORBIDDEN)
    if bad:
        raise InputError(f"the URL {url!r} contains forbidden characters "
                         f"({' '.join(bad)}): quotes and shell metacharacters are refused",
                         column=what)
    m = re.match(r"^(https?)://([^/?#]+)", url)
    if m is None:
        raise InputError(f"the URL {url!r} must start with http:// or https:// and name a host",
                         column=what)
    if "@" in m.group(2):
        raise InputError(f"the URL {url!r} must not carry credentials", column=what)
    return url


def safe_destination(cache_dir: str | Path, dest: str) -> Path:
    """The path of ``dest`` inside ``cache_dir``; refuse anything that escapes it.

    Examples
    --------
    >>> from evaluate.data.fetch import safe_destination
    >>> safe_destination("/data/cache", "ees/la.csv").as_posix()
    '/data/cache/ees/la.csv'
    >>> try:
    ...     safe_destination("/data/cache", "../secrets.csv")
    ... except Exception as err:
    ...     print(type(err).__name__)
    InputError
    """
    if not dest or "\x00" in dest:
        raise InputError("the destination is empty", column="dest")
    root = Path(os.path.abspath(cache_dir))
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    if ".." in parts:
        raise InputError(f"the destination {dest!r} may not contain '..'", column="dest")
    target = Path(os.path.abspath(root / dest)) if not os.path.isabs(dest) else Path(
        os.path.abspath(dest))
    try:
        target.relative_to(root)
    except ValueError:
        raise InputError(f"the destination {dest!r} is outside the cache folder {root}",
                         column="dest") from None
    if target == root:
        raise InputError(f"the destination {dest!r} is the cache folder itself", column="dest")
    return target


def sources_from_config(entries: Iterable[Mapping], *, api: str = EES_API) -> list[Source]:
    """Sources from configuration entries.

    Each entry has ``name`` and either ``url`` or ``dataset`` (an EES data-set identifier;
    optional ``version`` such as ``1.0``;
    wildcard versions are not accepted since ``*`` is refused in URLs), optional ``sha256`` and ``dest`` (default ``{name}.csv``).

    Examples
    --------
    >>> from evaluate.data.fetch import sources_from_config
    >>> s = sources_from_config([{"name": "la", "dataset": "7c0e9201-c7c0-ff73-bee4-304e731ec0e6"}])
    >>> s[0].url
    'https://api.education.gov.uk/statistics/v1/data-sets/7c0e9201-c7c0-ff73-bee4-304e731ec0e6/csv'
    """
    out = []
    for k, e in enumerate(entries, start=1):
        name = str(e.get("name") or "").strip()
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", name):
            raise InputError(f"entry {k}: name {name!r} must be 1-80 letters, digits, _ . -",
                             column="name", row=k)
        if ("url" in e) == ("dataset" in e):
            raise InputError(f"entry {k} ({name}): give exactly one of url and dataset",
                             column="url", row=k)
        if "url" in e:
            url = check_url(str(e["url"]))
        else:
            ds = str(e["dataset"])
            if not _ID.fullmatch(ds):
                raise InputError(f"entry {k} ({name}): {ds!r} is not an EES data-set identifier",
                                 column="dataset", row=k)
            url = f"{check_url(api, what='api')}/data-sets/{ds}/csv"
            if e.get("version"):
                ver = str(e["version"])
                if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", ver):
                    raise InputError(f"entry {k} ({name}): bad version {ver!r}",
                                     column="version", row=k)
                url += f"?dataSetVersion={ver}"
        sha = e.get("sha256")
        if sha is not None:
            sha = str(sha).strip().lower()
            if not _SHA.fullmatch(sha):
                raise InputError(f"entry {k} ({name}): sha256 must be 64 hex digits",
                                 column="sha256", row=k)
        dest = str(e.get("dest") or f"{name}.csv")
        out.append(Source(name=name, url=url, dest=dest, sha256=sha))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _transient(err: Exception) -> bool:
    if isinstance(err, urllib.error.HTTPError):
        return err.code == 429 or 500 <= err.code < 600
    return isinstance(err, (urllib.error.URLError, TimeoutError, ConnectionError, OSError))


def fetch(sources: Iterable[Source], data_dir: str | Path, *, cache: str = CACHE,
          retries: int = 3, backoff: float = 1.0, timeout: float = 60.0,
          allow_unverified: bool = False,
          sleep: Callable[[float], None] = time.sleep) -> list[FetchResult]:
    """Download each source into ``data_dir/cache`` unless a verified copy is there.

    Parameters
    ----------
    sources
        From :func:`sources_from_config`.
    data_dir
        The project's data folder; files go to ``data_dir/cache/<dest>``.
    cache
        Name of the cache folder (relative, inside ``data_dir``).
    retries
        Extra attempts after a transient failure.
    backoff
        First wait in seconds; doubled after each failure.
    timeout
        Seconds for each request.
    allow_unverified
        Accept sources without ``sha256`` (their checksum is computed and reported).
    sleep
        The waiting function (tests pass a no-op).

    Returns
    -------
    list of FetchResult
        Also written to ``data_dir/cache/fetch_manifest.json`` (name, URL, path, SHA-256,
        status, attempts, bytes, verified).

    Raises
    ------
    InputError
        A bad URL or destination, a missing checksum, a checksum mismatch (the file is
        deleted), or a download that failed after all retries.

    Examples
    --------
    A verified file already in the cache is not downloaded again:

    >>> import hashlib, tempfile, pathlib
    >>> from evaluate.data.fetch import Source, fetch
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "cache").mkdir()
    >>> _ = (d / "cache" / "a.csv").write_bytes(b"x,y\\n1,2\\n")
    >>> sha = hashlib.sha256(b"x,y\\n1,2\\n").hexdigest()
    >>> [r.status for r in fetch([Source("a", "https://example.org/a.csv", "a.csv", sha)], d)]
    ['cached']
    """
    cache_dir = safe_destination(data_dir, cache)
    results = []
    for src in sources:
        check_url(src.url)
        target = safe_destination(cache_dir, src.dest)
        if src.sha256 is None and not allow_unverified:
            raise InputError(f"source {src.name}: no sha256 given; add the file's SHA-256 to "
                             "the configuration (or allow unverified downloads once to learn it)",
                             column="sha256")
        if target.exists():
            digest = _sha256(target)
            if src.sha256 is None or digest == src.sha256:
                results.append(FetchResult(src.name, src.url, target, digest, "cached", 0,
                                           target.stat().st_size, src.sha256 is not None))
                continue
            target.unlink()  # stale or corrupt copy: download again
        target.parent.mkdir(parents=True, exist_ok=True)
        results.append(_download(src, target, retries=retries, backoff=backoff,
                                 timeout=timeout, sleep=sleep))
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_json({"files": [r.to_dict() for r in results]}, cache_dir / MANIFEST)
    return results


def _download(src: Source, target: Path, *, retries: int, backoff: float, timeout: float,
              sleep: Callable[[float], None]) -> FetchResult:
    attempts = 0
    last: Exception | None = None
    while attempts <= retries:
        attempts += 1
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                        dir=target.parent)
        tmp = Path(tmp_name)
        try:
            req = urllib.request.Request(src.url, headers={"User-Agent": USER_AGENT})
            h = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
                for chunk in iter(lambda r=resp: r.read(1 << 20), b""):
                    out.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            if src.sha256 is not None and digest != src.sha256:
                tmp.unlink(missing_ok=True)
                raise InputError(f"source {src.name}: checksum mismatch for {src.url}: expected "
                                 f"sha256 {src.sha256}, got {digest}; the file was deleted and "
                                 "not used", column="sha256")
            os.replace(tmp, target)
            return FetchResult(src.name, src.url, target, digest, "downloaded", attempts, size,
                               src.sha256 is not None)
        except InputError:
            raise
        except Exception as err:  # noqa: BLE001 (classified below)
            tmp.unlink(missing_ok=True)
            last = err
            if not _transient(err) or attempts > retries:
                break
            sleep(backoff * 2 ** (attempts - 1))
        finally:
            tmp.unlink(missing_ok=True)
    raise InputError(f"source {src.name}: download of {src.url} failed after {attempts} "
                     f"attempt(s): {last}", column="url")
