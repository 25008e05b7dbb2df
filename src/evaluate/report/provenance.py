"""What produced a run: code version, data hashes, package versions, seed, platform.

:func:`collect_provenance` returns a JSON-ready dict with no wall-clock time in it, so
two runs of the same code on the same data and seed write byte-identical provenance.
:func:`provenance_markdown` formats it for a report's provenance section.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from evaluate.io import sha256_file
from evaluate.report.tables import markdown_table

__all__ = ["PACKAGES", "collect_provenance", "git_state", "package_versions", "provenance_markdown"]

#: Packages whose versions every provenance record lists (``evaluate`` is this package).
PACKAGES = ("numpy", "pandas", "statsmodels", "scipy", "matplotlib", "seaborn", "pandera", "pyarrow")
_DIST_NAMES = {"evaluate": "attendance-evaluation"}


def _git(args: list[str], cwd: Path) -> str | None:
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def _default_repo() -> Path:
    import evaluate

    return Path(evaluate.__file__).resolve().parent


def git_state(repo: str | Path | None = None) -> dict[str, Any]:
    """The commit checked out in ``repo`` and whether tracked files differ from it.

    ``{"commit": "unknown", "dirty": None}`` when git is absent or ``repo`` is not in
    a git work tree (for instance an installed wheel). Untracked files do not make the
    tree dirty (output folders often live beside the code).
    """
    cwd = Path(repo) if repo is not None else _default_repo()
    if not cwd.exists():
        return {"commit": "unknown", "dirty": None}
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return {"commit": "unknown", "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` and of ``evaluate`` ('not installed' if absent)."""
    out: dict[str, str] = {}
    for name in [*packages, "evaluate"]:
        try:
            out[name] = metadata.version(_DIST_NAMES.get(name, name))
        except metadata.PackageNotFoundError:
            if name == "evaluate":
                from evaluate import __version__

                out[name] = __version__
            else:
                out[name] = "not installed"
    return out


def collect_provenance(
    *,
    seed: int | None,
    data_files: Mapping[str, str | Path] | Iterable[str | Path] = (),
    config_path: str | Path | None = None,
    repo: str | Path | None = None,
) -> dict[str, Any]:
    """Everything needed to say what produced a run (JSON-ready, no timestamps).

    Parameters
    ----------
    seed
        The run's random seed.
    data_files
        ``{name: path}`` (names as they should appear, e.g. relative to the data folder)
        or a list of paths (named by their path as given). Each file is hashed with
        SHA-256; a missing file is recorded as ``"missing"``.
    config_path
        The configuration file, hashed too when given.
    repo
        A folder inside the git work tree of the code (default: the package's folder).
    """
    if isinstance(data_files, Mapping):
        items = [(str(k), Path(v)) for k, v in data_files.items()]
    else:
        items = [(Path(p).as_posix(), Path(p)) for p in data_files]
    hashes = {name: (sha256_file(path) if path.is_file() else "missing") for name, path in sorted(items)}
    config = None
    if config_path is not None:
        cp = Path(config_path)
        config = {"path": cp.name, "sha256": sha256_file(cp) if cp.is_file() else "missing"}
    return {
        "git": git_state(repo),
        "seed": seed,
        "data_files": hashes,
        "config": config,
        "python": platform.python_version(),
        "packages": package_versions(),
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "implementation": sys.implementation.name,
        },
    }


def provenance_markdown(prov: Mapping[str, Any], *, label: str | None = "tbl-provenance",
                        max_files: int | None = None) -> str:
    """Provenance as a Markdown section body: a summary table and a data-file table."""
    import pandas as pd

    git = prov.get("git") or {}
    commit = git.get("commit", "unknown")
    dirty = git.get("dirty")
    commit_text = f"`{commit[:12]}`" if commit and commit != "unknown" else "unknown"
    if dirty:
        commit_text += " (uncommitted changes)"
    plat = prov.get("platform") or {}
    rows = [
        ("Code commit", commit_text),
        ("Random seed", "not set" if prov.get("seed") is None else str(prov["seed"])),
        ("Python", str(prov.get("python", "unknown"))),
        ("Platform", " ".join(str(plat.get(k, "")) for k in ("system", "release", "machine")).strip() or "unknown"),
    ]
    cfg = prov.get("config")
    if cfg:
        rows.append(("Configuration", f"{cfg.get('path')} (SHA-256 `{str(cfg.get('sha256'))[:16]}`)"))
    sdc = prov.get("disclosure")
    if sdc:
        from evaluate.disclosure import DisclosureRules

        rows.append(("Disclosure control", DisclosureRules(**sdc).describe()))
    for name, ver in (prov.get("packages") or {}).items():
        rows.append((f"Package {name}", str(ver)))
    out = markdown_table(pd.DataFrame(rows, columns=["item", "value"]),
                         formats={"item": "text", "value": "text"}, headers={"item": "", "value": ""},
                         caption="Code, seed, platform and package versions of this run.", label=label)
    files = sorted((prov.get("data_files") or {}).items())
    if files:
        shown = files if max_files is None else files[:max_files]
        df = pd.DataFrame([(f"`{n}`", f"`{h}`") for n, h in shown], columns=["file", "sha256"])
        out += "\n" + markdown_table(df, formats={"file": "text", "sha256": "text"},
                                     headers={"file": "Data file", "sha256": "SHA-256"},
                                     caption="SHA-256 of each input data file.",
                                     label=None if label is None else f"{label}-files")
        if max_files is not None and len(files) > max_files:
            out += f"\n{len(files) - max_files} more files are listed in `provenance.json`.\n"
    out += "\n" + symbol_key_markdown(label=None if label is None else f"{label}-key")
    return out


def symbol_key_markdown(*, label: str | None = "tbl-symbol-key") -> str:
    """DfE's key to the symbols a published table may hold instead of a number.

    Examples
    --------
    >>> from evaluate.report.provenance import symbol_key_markdown
    >>> print(symbol_key_markdown(label=None).splitlines()[2])
    | `c` | confidential: suppressed to protect small counts (disclosure control) |
    """
    import pandas as pd

    from evaluate.disclosure import SYMBOL_KEY

    df = pd.DataFrame([(f"`{k}`", v) for k, v in SYMBOL_KEY.items()], columns=["symbol", "meaning"])
    return markdown_table(df, formats={"symbol": "text", "meaning": "text"},
                          headers={"symbol": "Symbol", "meaning": "Meaning"},
                          caption="Symbols in this report's tables (DfE's key).", label=label)
