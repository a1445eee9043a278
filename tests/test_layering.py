"""The layering rule: webgl_backend runs unchanged in Pyodide, so it imports only the
standard library (and js/pyodide inside the page, imported lazily where they are used)."""

import pkgutil
import subprocess
import sys

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
