"""The memory snapshot: a restored page predicts what a normally started one does, and
every snapshot that does not belong to the page's files is refused without a trace but
the time: another wheel, damaged bytes, a snapshot Pyodide cannot restore.

Each test is a browser profile (context) visiting the real server; `Visit.restored` says
whether Python came from the snapshot (the worker's "restore" stage).
"""

from __future__ import annotations

import io
import zipfile

import pytest

import server.runtime_files
from server.bytecode import Bytecode
from tests.startup.conftest import open_visit, serve

pytestmark = pytest.mark.browser

READINGS = [(2, "centre-large"), (7, "small-top-left"), (0, "off-centre-bottom-right")]
# Rewrites the stored snapshot from inside the page, in whichever store holds it: flips 64
# bytes of its body at `offset` (negative: from the end); with `redigest` the stored
# digest is made to match the damaged bytes.
DAMAGE = """async ({offset, redigest}) => {
  const store = await import('/static/snapshot_store.js');
  const [entry] = await store.listSnapshots();
  const backend = await import(entry.store === 'opfs' ? '/static/snapshot_opfs.js'
                                                      : '/static/snapshot_idb.js');
  const record = await backend.read(entry.key);
  const bytes = record.bytes;
  // 'heap': where Pyodide's own header starts in the packed form (static/snapshot_pages.js).
  const at = offset === 'heap' ? 12 + 8 * new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true)
    : offset < 0 ? bytes.length + offset : offset;
  for (let i = at; i < at + 64; i++) bytes[i] ^= 0x5a;
  const digest = redigest ? await store.digestOf(bytes, record.digest.split(':')[0]) : record.digest;
  await backend.write(entry.key, bytes, digest);
  return entry.key;
}"""


# Records the worker's progress messages as the page receives them.
PROGRESS_RECORDER = """(() => {
  window.__progress = [];
  const Original = window.Worker;
  window.Worker = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (event.data && event.data.type === 'progress') window.__progress.push(event.data);
      });
    }
  };
})();"""


def _stages(visit) -> list[str]:
    progress = visit.page.evaluate("() => window.__progress")
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] < 1, progress
    assert all(p["message"] for p in progress), progress
    return [p["stage"] for p in progress]


def _trampolines(visit) -> dict:
    """What the runtime worker's shared small modules did (static/wasm_trampolines.js)."""
    [worker] = [w for w in visit.page.workers if w.url.endswith("/worker.js")]
    return worker.evaluate("() => WebAssembly.Module.smallModuleStats")


def test_a_restored_page_predicts_exactly_what_a_normal_start_predicts(site_root, context):
    context.add_init_script(PROGRESS_RECORDER)
    with serve(site_root) as url:
        first = open_visit(context, url + "/")
        assert not first.restored, first.stages
        assert _stages(first) == ["download", "python", "runtime", "model", "warmup"]
        record = first.wait_snapshot_stored()
        assert record["bytes"] > 10_000_000 and record["digest"].startswith("lanes64:")
        normal = [first.read(digit, where) for digit, where in READINGS]
        trampolines = [_trampolines(first)]
        first.page.close()
        second = open_visit(context, url + "/")
        assert second.restored, (second.stages, second.console[-20:])
        assert _stages(second) == ["download", "restore", "runtime", "model", "warmup"]
        restored = [second.read(digit, where) for digit, where in READINGS]
        trampolines.append(_trampolines(second))
    # Pyodide's few hundred trampolines come from a few dozen compiles, on either start
    assert all(t["asked"] > 100 and t["compiled"] * 4 < t["asked"] for t in trampolines), trampolines
    assert [digit for digit, _ in normal] == [str(d) for d, _ in READINGS]
    assert restored == normal


def _wheel_with_marker(out_dir):
    """The real runtime wheel plus one module: another version of the runtime."""
    path = REAL_BUILD(out_dir)
    with zipfile.ZipFile(path, "a") as wheel:
        wheel.writestr("webgl_backend/_upgrade_marker.py", "VERSION = 'next'\n")
    return path


REAL_BUILD = server.runtime_files.build_runtime_wheel


def test_a_snapshot_of_another_wheel_is_refused_and_rebuilt(site_root, context, monkeypatch):
    with serve(site_root) as url:
        old = open_visit(context, url + "/")
        old_key = old.wait_snapshot_stored()["key"]
        old.page.close()
    # The upgraded server: another wheel (its .pyc are not compiled: plain modules).
    monkeypatch.setattr(server.runtime_files, "build_runtime_wheel", _wheel_with_marker)
    monkeypatch.setattr(Bytecode, "start_build", lambda self: None)
    with serve(site_root) as url:
        upgraded = open_visit(context, url + "/")
        assert upgraded.config()["startup_key"] not in old_key
        assert not upgraded.restored, upgraded.stages
        new_key = upgraded.wait_snapshot_stored()["key"]
        assert [r["key"] for r in upgraded.snapshot_records()] == [new_key]  # the old one is gone
        prediction, _ = upgraded.read(*READINGS[0])
        upgraded.page.close()
        again = open_visit(context, url + "/")
        assert again.restored, again.stages
        assert again.read(*READINGS[0])[0] == prediction == str(READINGS[0][0])


@pytest.mark.parametrize("offset, redigest, why", [
    (-5_000_000, False, "body bytes changed: the digest check refuses it"),
    (0, True, "packed form's header changed, digest matching: not a snapshot"),
    ("heap", True, "Pyodide's magic changed, digest matching: Pyodide refuses to restore it"),
], ids=["corrupt-body", "unpackable", "unrestorable"])
def test_a_bad_stored_snapshot_falls_back_to_a_normal_start(site_root, context, offset,
                                                             redigest, why):
    with serve(site_root) as url:
        first = open_visit(context, url + "/")
        first.wait_snapshot_stored()
        expected = first.read(*READINGS[1])
        key = first.page.evaluate(DAMAGE, {"offset": offset, "redigest": redigest})
        first.page.close()
        second = open_visit(context, url + "/")
        assert not second.restored, (why, second.stages)
        assert second.read(*READINGS[1]) == expected
        assert "Could not" not in second.page.get_by_test_id("status").text_content()
        # The bad record was replaced by a sound one, which the next visit restores.
        assert second.wait_snapshot_stored()["key"] == key
        second.page.close()
        third = open_visit(context, url + "/")
        assert third.restored, (why, third.stages)


def test_a_restored_page_fine_tunes(site_root, context):
    """Training imports modules the snapshot does not hold: the wheel's files, unpacked
    again after "Ready", must be there. A restored page asks for the wheel only then (the
    browser's resource timing of the worker, on the wall clock the page's "Ready" is on)."""
    with serve(site_root) as url:
        page_url = url + "/?replay=50&epochs=1&copies=1"
        open_visit(context, page_url).wait_snapshot_stored()
        restored = open_visit(context, page_url)
        assert restored.restored, restored.stages
        page = restored.page
        restored.read(*READINGS[0])
        ready_at = page.evaluate("() => performance.timeOrigin + window.shadernetStartup.ready")
        wheel_asked_at = page.workers[0].evaluate(
            "() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.whl'))"
            ".map((e) => performance.timeOrigin + e.startTime)")
        assert len(wheel_asked_at) == 1 and wheel_asked_at[0] > ready_at, (wheel_asked_at, ready_at)
        page.get_by_test_id(f"label-{READINGS[0][0]}").click()
        page.get_by_test_id("train").click()
        page.wait_for_function(
            "() => { const s = document.querySelector('[data-testid=status]').textContent;"
            " if (/^Training failed/.test(s)) throw new Error(s);"
            " return /Your samples right/.test("
            "document.querySelector('[data-testid=train-result]').textContent); }",
            timeout=180_000)
        assert "Your samples right: 1 of 1" in page.get_by_test_id("train-result").text_content()
