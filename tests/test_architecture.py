"""The package's shape: data flows one way through the subpackages, with no import cycle.

Every import counts, those inside functions too: a lazy import is still a dependency.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "derive"

# Lowest first. A module may import from its own layer and the layers before it, never after.
LAYERS = ["errors", "datasets", "expr", "render", "core", "parse", "calculus", "derivations",
          "checking", "fitting", "notes", "derive", "cli", "__main__"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "derive"


def imports(path: Path) -> set[str]:
    """The derive modules that the file at `path` imports (absolute or relative)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "derive"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "derive":
                found.add(target)
    return found - {here}


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_every_module_is_in_a_known_layer():
    assert {layer(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module):
    rank = LAYERS.index(layer(module))
    upward = sorted(t for t in GRAPH[module] if LAYERS.index(layer(t)) > rank)
    assert not upward, f"{module} ({layer(module)}) imports from a later layer: {upward}"


def test_no_import_cycle():
    # Tarjan-free version for a small graph: depth-first search with a stack of the current path.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for target in sorted(t for t in GRAPH[module] if t in GRAPH):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_tests_import_their_helpers_as_a_clone_runs_them():
    # pytest puts tests/ itself on the path (rootdir conftest, no package): `from tests.x import` works only
    # where something else put the repository root on sys.path, as a developer's PYTHONPATH does, not a clone.
    tests = Path(__file__).resolve().parent
    code = [p for p in sorted(tests.rglob("*.py")) if "fixtures" not in p.relative_to(tests).parts]  # not data
    wrong = [f"{path.name}:{node.lineno}" for path in code
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests"
             or isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tests" for a in node.names)]
    assert not wrong, f"import the test helpers plainly (from finite_differences import ...): {wrong}"
