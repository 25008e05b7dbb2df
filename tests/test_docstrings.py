"""Every public name has a numpydoc docstring with an Examples section, and the examples run.

The public names are the functions and classes in the ``__all__`` of the modules in
``PUBLIC_MODULES`` (constants are documented by ``#:`` comments instead; ``evaluate.data``
has no ``__all__``, its modules are reached through the pipeline). Each must have an
``Examples`` section (numpydoc: ``Examples`` underlined by dashes), and every ``>>>``
example in their docstrings (methods of the classes included) is run with :mod:`doctest`,
with ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` and fresh globals: each example imports what
it uses. Examples run in a temporary working folder.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re

import pytest

PUBLIC_MODULES = (
    "evaluate",
    "evaluate.value",
    "evaluate.power",
    "evaluate.did",
    "evaluate.matching",
    "evaluate.sensitivity",
    "evaluate.findings",
    "evaluate.report",
    "evaluate.report.findings",
    "evaluate.report.robustness",
    "evaluate.report.planning",
    "evaluate.findings.planning",
    "evaluate.report.tables",
    "evaluate.report.charts",
    "evaluate.report.accessibility",
    "evaluate.report.rounding",
    "evaluate.report.sentences",
    "evaluate.synthetic",
    "evaluate.apidocs",
    "evaluate.disclosure",
    "evaluate.data.la.panel",
    "evaluate.data.la.read",
    "evaluate.data.la.codes",
    "evaluate.data.la.treatment",
    "evaluate.data.la.synthetic",
    "evaluate.data.fetch",
    "evaluate.synthetic.pupils",
    "evaluate.findings.mentors.pupils",
    "evaluate.findings.mentors.stage",
    "evaluate.report.areas",
    "evaluate.synthcontrol",
    "evaluate.findings.mentors.la",
    "evaluate.registers",
    "evaluate.registers.codes",
    "evaluate.registers.read",
    "evaluate.registers.measures",
    "evaluate.registers.schools",
    "evaluate.synthetic.registers",
)

#: Public names still without an Examples section. This list may only shrink: the test
#: fails when a public name is neither documented nor listed here, and when a name listed
#: here has been documented (remove it) or is no longer public.
TODO: frozenset[str] = frozenset()

EXAMPLES_SECTION = re.compile(r"^Examples\n-{8,}$", re.MULTILINE)
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public_objects() -> dict[str, object]:
    """``{"module.name": object}`` for the functions and classes of every ``__all__``."""
    found: dict[str, object] = {}
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found[f"{modname}.{name}"] = obj
    return found


PUBLIC = public_objects()


def has_examples(obj: object) -> bool:
    return bool(EXAMPLES_SECTION.search(inspect.getdoc(obj) or ""))


def test_public_names_found():
    assert len(PUBLIC) > 50
    assert "evaluate.did.callaway_santanna" in PUBLIC


def test_every_public_name_has_examples():
    missing = {name for name, obj in PUBLIC.items() if not has_examples(obj)}
    undocumented = sorted(missing - TODO)
    assert not undocumented, f"public names without an Examples section: {undocumented}"
    stale = sorted(TODO - missing)
    assert not stale, f"documented or no longer public: remove from TODO: {stale}"


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    seen: set[tuple[str | None, int | None, str]] = set()
    tests = []
    for qualname, obj in PUBLIC.items():
        module = inspect.getmodule(obj)
        for test in finder.find(obj, qualname, module=module, globs={}):
            key = (test.filename, test.lineno, test.name.rsplit(".", 1)[-1])
            if test.examples and key not in seen:
                seen.add(key)
                tests.append(test)
    return tests


DOCTESTS = _doctests()


def test_doctests_found():
    # a name re-exported by its package (evaluate.registers.read_marks and
    # evaluate.registers.read.read_marks) is one object with one docstring
    distinct = {id(obj) for name, obj in PUBLIC.items() if name not in TODO}
    assert len(DOCTESTS) >= len(distinct)


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_examples_run(test: doctest.DocTest, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    out: list[str] = []
    result = runner.run(test, out=out.append, clear_globs=True)
    assert result.failed == 0, "".join(out)
