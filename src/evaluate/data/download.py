"""One HTTP download into a temporary file: retries with backoff, resumed bodies, redirects.

The transfer uses `httpx <https://www.python-httpx.org>`_ (timeouts for connecting and
reading, streamed bodies, redirects with every hop checked, incomplete bodies detected
against ``Content-Length``) and `tenacity <https://tenacity.readthedocs.io>`_ (the retry
loop: exponential backoff, ``Retry-After`` honoured). What is retried: connection errors,
timeouts, bodies cut short, HTTP 429 and 5xx. What is not: other HTTP errors, a redirect
loop or a redirect to a refused URL. A body cut short is resumed with a ``Range``
request guarded by ``If-Range`` (the ``ETag`` or ``Last-Modified`` of the first
response), so a file that changed meanwhile is sent whole again; a server that ignores
the range sends the whole file and the download restarts. Bytes go to ``part`` only;
the caller checks the checksum and renames the file into place.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import tenacity

from evaluate.errors import InputError

USER_AGENT = "evaluate-data-fetch (httpx)"
#: Longest wait a server's ``Retry-After`` may ask for, in seconds.
MAX_RETRY_AFTER = 300.0
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Transient(Exception):
    """A failure worth another attempt; ``wait`` is the server's ``Retry-After`` (s)."""

    def __init__(self, what: str, wait: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.wait = wait


@dataclass
class Transfer:
    """What one download did.

    Attributes
    ----------
    part
        The temporary file holding the body.
    sha256, size
        Of the whole body.
    attempts
        Requests made (a resumed body counts its requests).
    events
        What happened on the way, in order (``HTTP 503``, ``timed out``, ``resumed at
        byte 1,024``, ``redirected to ...``).
    resumed
        Whether any part of the body came from a range request.
    """

    part: Path
    sha256: str = ""
    size: int = 0
    attempts: int = 0
    events: list[str] = field(default_factory=list)
    resumed: bool = False
    validator: str | None = None


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        if when is None:
            return None
        return max(0.0, when.timestamp() - time.time())


class _Wait(tenacity.wait.wait_base):
    """``backoff * 2**(k-1)`` after the k-th failure, or the server's Retry-After if longer."""

    def __init__(self, backoff: float) -> None:
        self.exp = tenacity.wait_exponential(multiplier=backoff, min=0)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self.exp(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Transient) and exc.wait is not None:
            wait = max(wait, min(exc.wait, MAX_RETRY_AFTER))
        return wait


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def download(url: str, part: Path, *, timeout: float, retries: int, backoff: float,
             sleep: Callable[[float], None], check_hop: Callable[[str], object],
             expected: str | None = None, client: httpx.Client | None = None) -> Transfer:
    """Download ``url`` into ``part`` (created or resumed), retrying transient failures.

    Parameters
    ----------
    url
        The checked URL.
    part
        The temporary file (beside the target, so the caller can rename it atomically).
    timeout
        Seconds allowed to connect and between bytes read.
    retries
        Extra attempts after a transient failure.
    backoff
        First wait in seconds, doubled after each failure (at least the Retry-After).
    sleep
        The waiting function (tests pass one that records the waits).
    check_hop
        Called with every URL requested, redirects included; raises to refuse one.
    expected
        The expected SHA-256: a resumed body that does not match is downloaded once
        more from the start before it is reported.
    client
        An httpx client (default: a new one, closed afterwards).

    Returns
    -------
    Transfer

    Raises
    ------
    InputError
        A failure that is not retried, or the last transient failure after all retries.
    """
    t = Transfer(part)
    own = client is None
    if client is None:
        client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=5,
                              headers={"User-Agent": USER_AGENT})
    client.event_hooks["request"] = [lambda req: check_hop(str(req.url))]
    no_resume = False

    def attempt() -> None:
        nonlocal no_resume
        t.attempts += 1
        have = part.stat().st_size if part.exists() else 0
        headers = {"Accept-Encoding": "identity"}
        if have and t.validator and not no_resume:
            headers |= {"Range": f"bytes={have}-", "If-Range": t.validator}
        elif have:
            part.unlink()
            have = 0
        written = 0
        try:
            with client.stream("GET", url, headers=headers) as resp:
                for r in resp.history:
                    t.events.append(f"redirected ({r.status_code}) to {r.headers.get('location', '?')}")
                code = resp.status_code
                if code == 429 or 500 <= code < 600:
                    raise Transient(f"HTTP {code}", _retry_after(resp))
                if code == 416:
                    part.unlink(missing_ok=True)
                    raise Transient("HTTP 416 (the range asked for is not there): restarting")
                if code not in (200, 206):
                    raise InputError(f"HTTP {code} {resp.reason_phrase} for {resp.url} (not retried; "
                                     f"after {t.attempts} attempt(s))", column="url")
                t.validator = resp.headers.get("etag") or resp.headers.get("last-modified")
                mode = "wb"
                if code == 206:
                    m = _RANGE.fullmatch(resp.headers.get("content-range", ""))
                    if m is None or int(m.group(1)) != have:
                        part.unlink(missing_ok=True)
                        raise Transient("the server sent another range than asked for: restarting")
                    mode = "ab"
                    t.resumed = True
                    t.events.append(f"resumed at byte {have:,}")
                elif have:
                    t.events.append("the server sent the whole file again: restarted")
                with open(part, mode) as out:
                    for chunk in resp.iter_raw():
                        out.write(chunk)
                        written += len(chunk)
                    out.flush()
                    os.fsync(out.fileno())
        except httpx.TimeoutException:
            raise Transient(f"timed out after {timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise InputError(f"too many redirects (a loop?) from {url}", column="url") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as err:
            raise Transient(f"body cut short ({type(err).__name__})") from None
        except httpx.TransportError as err:
            raise Transient(f"could not connect ({type(err).__name__})") from None
        t.sha256, t.size = _sha256(part)
        if expected is not None and t.sha256 != expected and t.resumed and not no_resume:
            no_resume = True
            t.resumed = False
            part.unlink(missing_ok=True)
            raise Transient("checksum wrong after a resumed body: downloading again from the start")

    def note(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient):
            t.events.append(exc.what + (f" (Retry-After {exc.wait:g} s)" if exc.wait is not None else ""))

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1), wait=_Wait(backoff),
        retry=tenacity.retry_if_exception_type(Transient), sleep=sleep, reraise=True,
        before_sleep=note)
    try:
        retrying(attempt)
    except Transient as exc:
        part.unlink(missing_ok=True)
        raise InputError(f"download of {url} failed after {t.attempts} attempt(s): {exc.what}"
                         + (f" (before: {'; '.join(t.events)})" if t.events else ""), column="url") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        if own:
            client.close()
    return t
