"""Download EES files named in the run configuration: cache, checksums, retries (``evaluate data fetch``).

Each source is a URL (``http``/``https``) or an explore-education-statistics (EES) data-set
identifier, which becomes ``{EES_API}/data-sets/{id}/csv`` (the EES public API's "download
a data set as CSV" endpoint); release files behind a redirect are followed. The transfer
itself is :func:`evaluate.data.download.download` (httpx and tenacity). Rules:

- a URL must be ``http(s)`` with a host and contain no whitespace, quotes or shell
  metacharacters (``;|&$`<>(){}[]!*\\``): refused with an :class:`InputError`; every
  redirect is checked the same way, and a redirect from ``https`` to ``http`` is refused;
  nothing is ever passed to a shell;
- files go to a cache folder inside the project's data folder; a destination from the
  configuration may not escape it (``..``, absolute paths elsewhere): refused;
- each download is written to a hidden temporary file (``.NAME.part``) beside its target,
  checked against its SHA-256 and only then renamed into place (atomic); a mismatch is
  refused, the temporary file deleted and a verified cached copy left as it was; a cached
  copy that fails its checksum is replaced by a verified download or removed: no run leaves
  a half-written or unverified file in the cache (a ``.part`` left by a killed run is
  removed by the next);
- a file already in the cache with the expected SHA-256 is not downloaded again
  (``refresh=True`` asks the server again and keeps the copy unless the new file verifies);
- transient failures (connection errors, timeouts, bodies cut short, HTTP 429 and 5xx) are
  retried with exponential backoff (``backoff * 2**k`` seconds, or the server's
  ``Retry-After`` when longer); a body cut short is resumed where the server allows it;
  other HTTP errors are not retried.

A source without a checksum is refused unless ``allow_unverified=True``; then the file's
SHA-256 is computed, reported and recorded in the manifest, and a later fetch that finds
a different file behind the same URL refuses it (the file changed upstream) until its
SHA-256 is pinned in the configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
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

    ``note`` says how (retries, waits, a resumed body, redirects, a replaced copy);
    :meth:`line` puts it all in one line.

    Examples
    --------
    >>> from pathlib import Path
    >>> from evaluate.data.fetch import FetchResult
    >>> r = FetchResult("a", "https://x.org/a.csv", Path("c/a.csv"), "0" * 64, "cached", 0, 3, True)
    >>> r.to_dict()["path"], r.status
    ('c/a.csv', 'cached')
    >>> r.line()
    'a: cached, 3 bytes, sha256 000000000000... verified'
    """

    name: str
    url: str
    path: Path
    sha256: str
    status: str
    attempts: int
    bytes: int
    verified: bool
    note: str = ""

    def line(self) -> str:
        """One line: the source, what happened, its size and checksum, and how."""
        check = "verified" if self.verified else "NOT verified (no sha256 pinned)"
        text = f"{self.name}: {self.status}, {self.bytes:,} bytes, sha256 {self.sha256[:12]}... {check}"
        return text + (f"; {self.note}" if self.note else "")

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
                                 "verified", "note"])


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


def _previous(cache_dir: Path) -> dict[str, dict]:
    """The last manifest's entries by source name (empty when there is none or it is unreadable)."""
    try:
        files = json.loads((cache_dir / MANIFEST).read_text(encoding="utf-8")).get("files", [])
        return {str(f["name"]): f for f in files if isinstance(f, dict) and "name" in f}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _hop_checker(first: str) -> Callable[[str], None]:
    def check(url: str) -> None:
        check_url(url, what="redirect" if url != first else "url")
        if first.startswith("https://") and url.startswith("http://"):
            raise InputError(f"refusing a redirect from https to plain http ({url})", column="url")
    return check


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fetch(sources: Iterable[Source], data_dir: str | Path, *, cache: str = CACHE,
          retries: int = 3, backoff: float = 1.0, timeout: float = 60.0,
          allow_unverified: bool = False, refresh: bool = False,
          sleep: Callable[[float], None] = time.sleep,
          on_result: Callable[[FetchResult], None] | None = None) -> list[FetchResult]:
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
        Seconds to connect and between bytes read.
    allow_unverified
        Accept sources without ``sha256`` (their checksum is computed, reported and
        recorded; a later fetch refuses a different file behind the same URL).
    refresh
        Ask the server again even when a verified copy is cached; the copy is replaced
        only by a download that verifies.
    sleep
        The waiting function (tests pass a no-op).
    on_result
        Called with each source's result as soon as it is known (the command line prints
        its :meth:`FetchResult.line`).

    Returns
    -------
    list of FetchResult
        Also written to ``data_dir/cache/fetch_manifest.json`` (name, URL, path, SHA-256,
        status, attempts, bytes, verified, note).

    Raises
    ------
    InputError
        A bad URL or destination or a missing checksum (before any request); after every
        source was tried: a checksum mismatch, a changed file behind the same URL, or a
        download that failed after all retries (every failure in one line).

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
    sources = list(sources)
    targets = []
    for src in sources:  # every source is checked before any request is made
        check_url(src.url)
        targets.append(safe_destination(cache_dir, src.dest))
        if src.sha256 is None and not allow_unverified:
            raise InputError(f"source {src.name}: no sha256 given; add the file's SHA-256 to "
                             "the configuration (or allow unverified downloads once to learn it)",
                             column="sha256")
    previous = _previous(cache_dir)
    results: list[FetchResult] = []
    failures: list[str] = []
    for src, target in zip(sources, targets, strict=True):
        try:
            res = _one(src, target, previous.get(src.name), retries=retries, backoff=backoff,
                       timeout=timeout, refresh=refresh, sleep=sleep)
        except InputError as err:
            failures.append(err.message if err.message.startswith("source ") else
                            f"source {src.name}: {err.message}")
            old = previous.get(src.name)
            if old and target.exists() and _sha256(target) == old.get("sha256"):
                results.append(FetchResult(**{**{k: old[k] for k in old if k in FetchResult.__dataclass_fields__},
                                              "path": target}))
            continue
        results.append(res)
        if on_result is not None:
            on_result(res)
    # other files fetched before stay listed while they are there and verify
    names = {src.name for src in sources}
    kept = [f for n, f in previous.items() if n not in names and Path(str(f.get("path", ""))).is_file()
            and _sha256(Path(str(f["path"]))) == f.get("sha256")]
    if results or kept or (cache_dir / MANIFEST).exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        write_json({"files": [*kept, *(r.to_dict() for r in results)]}, cache_dir / MANIFEST)
    if failures:
        more = f" ({len(failures) - 1} more: {'; '.join(failures[1:])})" if len(failures) > 1 else ""
        raise InputError(failures[0] + more, column="url")
    return results


def _one(src: Source, target: Path, old: Mapping | None, *, retries: int, backoff: float,
         timeout: float, refresh: bool, sleep: Callable[[float], None]) -> FetchResult:
    """Fetch one source (see :func:`fetch`)."""
    from evaluate.data.download import download

    notes: list[str] = []
    part = target.parent / f".{target.name}.part"
    if part.exists():
        part.unlink()
        notes.append("removed a part file left by an interrupted run")
    recorded = old.get("sha256") if old and old.get("url") == src.url else None
    cached_ok = False
    if target.exists():
        digest = _sha256(target)
        cached_ok = digest == src.sha256 if src.sha256 else recorded in (None, digest)
        if cached_ok and not refresh:
            how = ("cached copy verified, no request made" if src.sha256 else
                   "cached copy as recorded at the last fetch, no request made")
            return FetchResult(src.name, src.url, target, digest, "cached", 0, target.stat().st_size,
                               src.sha256 is not None, "; ".join([*notes, how]))
        if not cached_ok:
            notes.append("the cached copy failed its checksum")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        t = download(src.url, part, timeout=timeout, retries=retries, backoff=backoff, sleep=sleep,
                     check_hop=_hop_checker(src.url), expected=src.sha256)
    except InputError as err:
        if target.exists() and not cached_ok:
            target.unlink()
            err.message += "; the cached copy failed its checksum and was removed"
        elif target.exists():
            err.message += "; the verified cached copy is kept"
        raise InputError(f"source {src.name}: {err.message}", column=err.column) from None
    want = src.sha256 or recorded
    if want is not None and t.sha256 != want:
        part.unlink(missing_ok=True)
        if src.sha256:
            msg = (f"source {src.name}: checksum mismatch for {src.url}: expected sha256 {src.sha256}, "
                   f"got {t.sha256}; the download was deleted and not used")
        else:
            msg = (f"source {src.name}: the file behind {src.url} changed since the last fetch "
                   f"(recorded sha256 {recorded}, now {t.sha256}); pin the new sha256 in the "
                   "configuration to take it")
        if target.exists() and cached_ok:
            msg += "; the verified cached copy is kept"
        elif target.exists():
            target.unlink()
            msg += "; the cached copy failed its checksum and was removed"
        raise InputError(msg, column="sha256")
    os.replace(part, target)
    _fsync_dir(target.parent)
    if t.attempts > 1:
        notes.append(f"{t.attempts} attempts")
    notes += t.events
    if refresh and cached_ok:
        notes.append("asked again (refresh): same file" if want else "asked again (refresh)")
    return FetchResult(src.name, src.url, target, t.sha256, "downloaded", t.attempts, t.size,
                       src.sha256 is not None, "; ".join(notes))
