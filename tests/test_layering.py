"""The layering rules: webgl_backend runs unchanged in Pyodide, so it imports only the
standard library (and js/pyodide inside the page, imported lazily where they are used);
packages import only downwards; and no module imports itself through a circle."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import webgl_backend

THIRD_PARTY = ("numpy", "matplotlib", "fastapi", "pydantic", "starlette", "model_export", "server")


def test_webgl_backend_imports_only_the_standard_library():
    modules = sorted(m.name for m in
                     pkgutil.walk_packages(webgl_backend.__path__, prefix="webgl_backend."))
    assert "webgl_backend.runtime" in modules and "webgl_backend.ops.conv" in modules
    # A fresh interpreter where importing any third-party package fails loudly.
    blocker = "".join(f"sys.modules[{name!r}] = None\n" for name in THIRD_PARTY)
    script = "import importlib, sys\n" + blocker + "".join(
        f"importlib.import_module({name!r})\n" for name in modules)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


# ----------------------------------------------------------------------------- circles

PACKAGES = ("webgl_backend", "model_export", "server")
ROOT = Path(__file__).resolve().parents[1]
# Which top-level package may import which: data flows one way (server > model_export >
# webgl_backend), nothing reaches back.
MAY_IMPORT = {"webgl_backend": {"webgl_backend"},
              "model_export": {"model_export", "webgl_backend"},
              "server": {"server", "model_export", "webgl_backend"}}


def _module_names() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that `path` imports, at the top or inside a function."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _module_names()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of `graph` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_circle():
    graph = _import_graph()
    assert "webgl_backend.training.fine_tuner" in graph and "server.cli" in graph
    circle = _cycle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_the_cycle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def test_packages_import_only_downwards():
    wrong = [f"{module} imports {target}" for module, targets in _import_graph().items()
             for target in targets
             if target.split(".")[0] not in MAY_IMPORT[module.split(".")[0]]]
    assert not wrong, wrong


def test_training_is_built_from_the_runtime_never_the_reverse():
    graph = _import_graph()
    assert "webgl_backend.runtime" in graph["webgl_backend.training.fine_tuner"]
    runtime_side = {m for m in graph if m.startswith(("webgl_backend.runtime",
                                                      "webgl_backend.forward_plan"))}
    assert not any(t.startswith("webgl_backend.training") for m in runtime_side
                   for t in graph[m])
