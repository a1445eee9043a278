"""Set-up: the memory snapshot for first visits, made by the page itself in headless Chromium.

`python -m server.snapshot_maker` (`make snapshot`, part of `make setup`) serves this
checkout's app on 127.0.0.1, opens its page in a fresh headless Chromium profile and lets
the page do what it does on any first visit: start Python normally, then make and store
its snapshot (static/python_boot.js makeSnapshot, static/snapshot_store.js). The stored
record (key, digest, bytes) is read back out of the browser, its SHA-256 checked against
the digest the page stored with it, and kept by server/served_snapshot.py for the server's
current start-up files. So the served bytes are the page's own, under the page's own key;
nothing here makes a snapshot any other way.

Playwright and Chromium are needed only here (and in the tests); without them set-up says
so and the server runs without a served snapshot, as before.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from server.headless_chromium import CHROMIUM_ARGS
from server.loopback_server import LoopbackServer
from server.runtime_files import RuntimeFiles
from server.served_snapshot import ServedSnapshot, SnapshotRefused

READY_TIMEOUT_MS = 180_000
STORED_TIMEOUT_S = 120
CHUNK_BYTES = 8 * 1024 * 1024

log = logging.getLogger("shadernet.snapshot_maker")

WAIT_READY = """() => { const s = document.querySelector('[data-testid=status]').textContent;
  if (/^Could not/.test(s)) throw new Error(s); return s.includes('Ready'); }"""
# The page's stored snapshot under a key for `startupKey`'s files, kept in window.__made;
# its {key, digest (SHA-256, to check the copy read out against), bytes (length),
# made_by}, or null while there is none.
FIND_STORED = """async (startupKey) => {
  const base = JSON.parse(document.getElementById('shadernet-config').textContent).static_url;
  const store = await import(new URL('snapshot_store.js', new URL(base, location.href)));
  const entry = (await store.listSnapshots()).find((e) => e.key.startsWith(startupKey + '|'));
  if (!entry) return null;
  const read = await store.readSnapshot(entry.key);
  if (!read.bytes || (await read.check) !== null) return null;
  window.__made = read.bytes;
  return {key: entry.key, digest: await store.digestOf(read.bytes), bytes: read.bytes.byteLength,
          made_by: navigator.userAgent};
}"""
# window.__made[at, at + length) as base64 (FileReader's own encoder: fast for MBs).
READ_CHUNK = """([at, length]) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(',') + 1));
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(new Blob([window.__made.subarray(at, at + length)]));
})"""


def _stored_snapshot(page, startup_key: str) -> dict:
    deadline = time.monotonic() + STORED_TIMEOUT_S
    while (record := page.evaluate(FIND_STORED, startup_key)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page stored no snapshot for {startup_key} within "
                               f"{STORED_TIMEOUT_S} s")
        page.wait_for_timeout(250)
    return record


def snapshot_from_page(browser, page_url: str, startup_key: str) -> tuple[dict, bytes]:
    """Visit `page_url` in a fresh context of `browser` (Playwright); the snapshot the page
    stores for `startup_key`'s files: (record {key, digest, bytes, made_by}, its bytes)."""
    context = browser.new_context()
    console: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
        page.goto(page_url)
        page.wait_for_function(WAIT_READY, timeout=READY_TIMEOUT_MS, polling=250)
        record = _stored_snapshot(page, startup_key)
        data = b"".join(base64.b64decode(page.evaluate(READ_CHUNK, [at, CHUNK_BYTES]))
                        for at in range(0, record["bytes"], CHUNK_BYTES))
    except Exception as error:
        raise RuntimeError(f"making the snapshot at {page_url} failed: {error}\n"
                           + "\n".join(console[-30:])) from None
    finally:
        context.close()
    actual = f"sha256:{hashlib.sha256(data).hexdigest()}"
    if len(data) != record["bytes"] or actual != record["digest"]:
        raise RuntimeError(f"the snapshot read from the browser ({len(data)} bytes, {actual[:23]}…)"
                           f" is not the one it stored ({record['bytes']}, {record['digest'][:23]}…)")
    return record, data


def make_served_snapshot(browser, page_url: str, runtime: RuntimeFiles) -> ServedSnapshot:
    """The page at `page_url` (served with `runtime`'s current files) makes its snapshot;
    kept as the one served for those files. SnapshotRefused if it does not fit them."""
    startup_key = runtime.current().key
    record, data = snapshot_from_page(browser, page_url, startup_key)
    if runtime.current().key != startup_key:
        raise SnapshotRefused("the server's start-up files changed while the snapshot was made")
    return runtime.snapshots.save(startup_key, record["key"], data, record["made_by"])


# The page's code a snapshot's key depends on besides the served files (python_boot.js's
# SNAPSHOT_PREPARE, engine_traits.js), and how it is packed: a kept snapshot older than
# these is made again.
KEY_SOURCES = ("static/python_boot.js", "static/engine_traits.js", "static/snapshot_pages.js")


def _up_to_date(served: ServedSnapshot | None) -> bool:
    from server.settings import REPO_ROOT

    return served is not None and all(
        (REPO_ROOT / source).stat().st_mtime < served.path.stat().st_mtime
        for source in KEY_SOURCES)


def main(argv: list[str]) -> int:
    """Make the snapshot for the server's default settings (its cache folder), unless the
    one kept is for the current files already (`--force`: make it anyway)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("server.snapshot_maker: Playwright is not installed (pip install -e '.[test]'); "
              "first visits start Python from source", file=sys.stderr)
        return 1
    if not Path(chromium).exists():
        print(f"server.snapshot_maker: no Chromium at {chromium} (`make browser`, or set "
              f"CHROMIUM); first visits start Python from source", file=sys.stderr)
        return 1
    from server.main import create_app
    from server.settings import Settings

    with tempfile.TemporaryDirectory(prefix="snapshot-maker-") as scratch:
        # The real cache (the served files and where the snapshot is kept), a scratch store.
        app = create_app(Settings(store_dir=Path(scratch) / "store"))
        runtime = app.state.assets.runtime
        if not runtime.bytecode.build():
            print("server.snapshot_maker: the .pyc are not compiled (see above); the snapshot "
                  "is made for the plain files", file=sys.stderr)
        kept = runtime.snapshots.find(runtime.current().key)
        if "--force" not in argv and _up_to_date(kept):
            print(f"server.snapshot_maker: the served snapshot is up to date ({kept.path})")
            return 0
        # A stale one would be restored by the page and kept as it is, not made again.
        runtime.snapshots.forget(runtime.current().key)
        with LoopbackServer(app) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                served = make_served_snapshot(browser, server.url + "/", runtime)
            finally:
                browser.close()
        runtime.snapshots.prune(keep=served)
    print(json.dumps({**served.config(), "key": served.key[:60] + "…", "path": str(served.path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
