"""The layout docs/architecture.md promises, held by reading the source (no imports run).

- imports go one way: tools/ never imports graphs/ or agent/, graphs/ never imports agent/;
- no import cycle among modules (module-level imports; those under `if TYPE_CHECKING:` and inside functions are
  left out, since they run later or never);
- no folder holds more than 15 modules, so each stays one room a newcomer can scan;
- no module only forwards imports (a re-export shim hides where a name lives).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tools", "graphs", "agent")
RANK = {"tools": 0, "graphs": 1, "agent": 2}
MAX_MODULES = 15


def _modules() -> dict[str, Path]:
    found = {}
    for top in PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found["explore_instruct." + ".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(path: Path) -> set[str]:
    """Modules of ours imported when `path` is imported (module level, outside `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                if not _is_type_checking(node):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("explore_instruct."))
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("explore_instruct."):
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    out.add(sub if sub in MODULES else node.module)

    visit(tree.body)
    return out


def _all_imports(path: Path) -> set[str]:
    """Every module of ours named anywhere in `path` (lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.startswith("explore_instruct.")}


def test_imports_go_one_way() -> None:
    wrong = []
    for name, path in MODULES.items():
        rank = RANK[name.split(".")[1]]
        for imported in _all_imports(path):
            if RANK[imported.split(".")[1]] > rank:
                wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = {name: _top_level_imports(path) & MODULES.keys() for name, path in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := walk(name)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_folder_over_the_module_cap() -> None:
    folders = {path.parent for path in MODULES.values()}
    crowded = {
        str(f.relative_to(ROOT)): n
        for f in folders
        if (n := len([p for p in f.glob("*.py") if p.name != "__init__.py"])) > MAX_MODULES
    }
    assert not crowded, crowded


def test_no_module_only_forwards_imports() -> None:
    shims = []
    for path in MODULES.values():
        body = [n for n in ast.parse(path.read_text()).body if not isinstance(n, ast.Expr)]  # docstrings
        body = [n for n in body if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
        if body and all(
            isinstance(n, ast.Import | ast.ImportFrom)
            or (isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets))
            for n in body
        ):
            shims.append(str(path.relative_to(ROOT)))
    assert not shims, f"modules that only re-export: {shims}"
