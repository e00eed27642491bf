"""The package's layout: imports only go down the pipeline, no cycles, modules and functions of readable size.

The layers, lowest first (DESIGN.md): a module may import only from its own
layer or a lower one, and the module graph has no cycle.  Imports inside
functions count like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dualuse"

#: The layers in the order data flows; a module may import from its own layer and those before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "vocabulary", "files", "palette", "progress"),
    ("inputs",),
    ("model",),
    ("solve",),
    ("diagnose",),
    ("plan",),
    ("export",),
    ("run",),
    ("studies",),
    ("report",),
    ("prepare",),
    ("cli", "__main__"),
)
LAYER_OF = {name: k for k, names in enumerate(LAYERS) for name in names}

MAX_MODULE_LINES = 550
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The dualuse modules that ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYER_OF.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if m != "dualuse" and _layer(m) is None] == []


def test_imports_only_go_down() -> None:
    upward = [f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
              for m, targets in GRAPH.items() if m != "dualuse" for t in sorted(targets)
              if t != "dualuse" and not m.startswith(t + ".") and _layer(t) > _layer(m)]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = {m: {t for t in ts if not m.startswith(t + ".") and t != "dualuse"} for m, ts in GRAPH.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module: str) -> None:
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines"


def test_long_functions_say_why() -> None:
    """A function over :data:`MAX_FUNCTION_LINES` lines says in its docstring why it is long ("Long because …")."""
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if length > MAX_FUNCTION_LINES and "Long because" not in doc:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert long == []
