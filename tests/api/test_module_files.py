"""The public module's files, as its imports name them: README's self-hosting list names
exactly the files shadernet.mjs loads (its imports, its worker's, what either imports
when needed), and the drawing page hints (modulepreload) every module its entry script
imports at start."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

STATIC = REPO_ROOT / "static"
# `import ... from "./x.js"`, `import "./x.js"` and `export ... from "./x.js"`: loaded with it.
STATIC_IMPORT = re.compile(r'^\s*(?:import|export)\b(?!\s*\()[^;"]*?"\./([\w.]+)"', re.M)
# `import("./x.js")` and `new URL("./x.js", import.meta.url)` (the worker): loaded later.
LATER_IMPORT = re.compile(r'(?:import\(|new URL\()\s*"\./([\w.]+)"')


def _code(name: str) -> str:
    """The file without its // comments (they mention files they do not load)."""
    return re.sub(r"^\s*//.*$", "", (STATIC / name).read_text("utf-8"), flags=re.M)


def imported(entry: str, later: bool) -> set[str]:
    """`entry` and every static/ file it loads (statically; with `later`, also dynamically)."""
    found, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        code = _code(name)
        todo += STATIC_IMPORT.findall(code) + (LATER_IMPORT.findall(code) if later else [])
    return found


def test_readme_self_hosting_lists_every_file_the_module_loads():
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    paragraph = re.search(r"\*\*Self-hosting\*\*(.*?)\n\n|\*\*Self-hosting\*\*(.*?)\n- ",
                          readme, re.S)
    assert paragraph, "README has no **Self-hosting** paragraph"
    text = paragraph.group(1) or paragraph.group(2)
    listed = {re.sub(r"^static/", "", name) for name in re.findall(r"`([\w/]+\.m?js)`", text)}
    needed = imported("shadernet.mjs", later=True)
    assert {"shadernet_startup.mjs", "worker.js", "snapshot_served.js"} <= needed
    assert listed == needed, (f"missing from README: {sorted(needed - listed)}; "
                              f"listed but not loaded: {sorted(listed - needed)}")


def test_the_page_hints_every_module_its_entry_imports():
    """Unbundled (server/routes/page.py PAGE_MODULES); the bundle's hints: test_page_bundle.py."""
    from server.routes.page import PAGE_MODULES

    hinted = set(PAGE_MODULES)
    assert all((STATIC / name).is_file() for name in hinted), hinted
    at_start = imported("app.js", later=False)
    assert {"shadernet.mjs", "shadernet_startup.mjs"} <= at_start
    assert at_start <= hinted, f"not preloaded: {sorted(at_start - hinted)}"
