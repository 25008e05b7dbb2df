"""The house is straight: every module imports only from its own room or from rooms below it.

The rooms, from the ground floor up (docs/design.md). A module may import (at module level or
inside a function; ``TYPE_CHECKING`` blocks aside) only from its own subpackage or from a
lower room. Deprecated shims that keep an old name working for one release are marked
``# layering: deprecated shim`` on the import line and are the only exception. A test that
cannot fail is a defect: an upward import planted in a copy of a module is caught.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "evaluate"

#: Rooms from the ground floor up; a room may import from any room listed before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "numbers", "style"),
    ("io", "__init__"),
    ("disclosure",),
    ("data",),
    ("registers", "synthetic"),
    ("did",),
    ("matching", "power", "value", "synthcontrol"),
    ("sensitivity",),
    ("config",),
    ("design",),
    ("findings",),
    ("report",),
    ("pipeline",),
    ("validation", "check", "guide", "apidocs"),
    ("cli", "__main__"),
)
LEVEL = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}
#: registers and synthetic share a floor: synthetic writes register marks (registers.codes).
SAME_FLOOR_ALLOWED = {("synthetic", "registers")}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    tree = ast.parse(src)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "evaluate":
            names = [node.module]
            if node.module == "evaluate":
                names = [f"evaluate.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "evaluate"]
        shim = "layering: deprecated shim" in lines[node.lineno - 1] if names else False
        out += [(node.lineno, n, shim) for n in names]
    return out


def violations(root: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        room = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 else rel.stem
        if room not in LEVEL:
            bad.append(f"{rel}: room '{room}' is on no floor (add it to LAYERS)")
            continue
        for line, target, shim in _imports(path):
            other = _room(target)
            if other == room or other == "__version__" or shim:
                continue
            if other not in LEVEL:
                continue
            if LEVEL[other] > LEVEL[room] or (LEVEL[other] == LEVEL[room] and (room, other) not in SAME_FLOOR_ALLOWED):
                bad.append(f"{rel}:{line}: {room} imports {target} ({other} is not below it)")
    return bad


def test_no_module_imports_from_a_room_above_it():
    assert violations() == []


def test_an_upward_import_is_caught(tmp_path):
    planted = tmp_path / "evaluate"
    (planted / "did").mkdir(parents=True)
    (planted / "did" / "bad.py").write_text("def f():\n    from evaluate.report import charts\n", encoding="utf-8")
    assert violations(planted) == ["did/bad.py:2: did imports evaluate.report (report is not below it)"]


def test_the_picture_in_docs_design_md_is_drawn_from_the_current_imports():
    """docs/design.md's Mermaid picture of the rooms is what tools/design_graph.py makes
    from the code now (rerun it with --write when a room moves)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / "design_graph.py"
    spec = importlib.util.spec_from_file_location("design_graph", path)
    graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graph)
    assert graph.block() in graph.DOC.read_text(encoding="utf-8")
    # it can fail: an edge added to the code's graph changes the block
    edges = graph.room_edges()
    assert ("report", "findings") in edges and ("did", "report") not in edges
    assert graph.mermaid(graph.reduce(edges | {("did", "report")})) not in graph.block()
