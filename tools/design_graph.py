"""The picture of the house in docs/design.md, made from the code's imports.

Reads every module of ``src/evaluate`` with :mod:`ast`, groups modules by room (the
subpackage or top-level module under ``evaluate``), and draws which room imports which as a
Mermaid flowchart (GitHub and Quarto render it). Edges implied by others are left out
(transitive reduction) so the picture stays readable; the full list is printed with
``--edges``. ``python tools/design_graph.py --write`` replaces the block between the markers
in docs/design.md; ``tests/test_layers.py`` checks that the committed block is current.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "evaluate"
DOC = ROOT / "docs" / "design.md"
BEGIN = "<!-- design_graph: begin (made by tools/design_graph.py --write; do not edit) -->"
END = "<!-- design_graph: end -->"


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def room_edges(src: Path = SRC) -> set[tuple[str, str]]:
    """``(importer, imported)`` rooms over every module (``TYPE_CHECKING`` blocks aside)."""
    edges: set[tuple[str, str]] = set()
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        here = _room(module)
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "evaluate":
                names = [node.module] if node.module != "evaluate" else [f"evaluate.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "evaluate"]
            if names and "layering: deprecated shim" in lines[node.lineno - 1]:
                continue  # an old name kept working for one release (tests/test_layers.py)
            for name in names:
                there = _room(name)
                is_room = (SRC / there).is_dir() or (SRC / f"{there}.py").exists()
                if is_room and there not in (here, "__init__"):
                    edges.add((here, there))
    return edges


def reduce(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The transitive reduction: drop a -> c where a -> b -> ... -> c also exists."""
    out = set(edges)
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)

    def reach(a: str, avoid: tuple[str, str]) -> set[str]:
        seen, stack = set(), [a]
        while stack:
            x = stack.pop()
            for y in succ.get(x, ()):
                if (x, y) != avoid and y not in seen:
                    seen.add(y)
                    stack.append(y)
        return seen

    for a, c in sorted(edges):
        if c in reach(a, (a, c)):
            out.discard((a, c))
    return out


def mermaid(edges: set[tuple[str, str]]) -> str:
    """The Mermaid block: rooms as boxes, an arrow from a room to each room it imports."""
    lines = ["```mermaid", "flowchart TD"]
    rooms = sorted({r for e in edges for r in e})
    lines += [f'  {r.strip("_")}["{"evaluate/__init__" if r == "__init__" else r}"]' for r in rooms]
    lines += [f"  {a.strip('_')} --> {b.strip('_')}" for a, b in sorted(edges)]
    lines.append("```")
    return "\n".join(lines)


def block() -> str:
    edges = room_edges()
    return "\n".join([BEGIN, mermaid(reduce(edges)), END])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="replace the block in docs/design.md")
    ap.add_argument("--edges", action="store_true", help="print every room-to-room import")
    args = ap.parse_args(argv)
    if args.edges:
        for a, b in sorted(room_edges()):
            print(f"{a} -> {b}")
        return 0
    new = block()
    if args.write:
        text = DOC.read_text(encoding="utf-8")
        i, j = text.find(BEGIN), text.find(END)
        if i < 0 or j < 0:
            print(f"markers not found in {DOC}", file=sys.stderr)
            return 2
        DOC.write_text(text[:i] + new + text[j + len(END):], encoding="utf-8")
        print(f"wrote {DOC}")
    else:
        print(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
