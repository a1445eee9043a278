"""Rejected uploads cost little: 8 concurrent 31 MB uploads of the wrong topology keep
`shadernet serve` (its own process, so its memory is its own) under 600 MB peak RSS, and
/healthz answers within a second meanwhile (asked from a third process, so the senders'
work in this one does not count as the server's)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.server.conftest import model_files, mlp, snapshot, upload
from tests.support.live_server import serve_process

CONCURRENT = 8
PEAK_RSS_LIMIT_MB = 600
HEALTHZ_LIMIT_S = 1.0
# Says "ready" after a first answer, then asks /healthz every 50 ms until a line arrives
# on stdin, then prints the latencies as JSON.
PROBE = """
import json, select, sys, time, httpx
latencies = []
with httpx.Client(base_url=sys.argv[1], timeout=30) as http:
    assert http.get("/healthz").status_code == 200
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0.05)[0]:
        started = time.perf_counter()
        assert http.get("/healthz").status_code == 200
        latencies.append(time.perf_counter() - started)
print(json.dumps(latencies))
"""


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.fixture(scope="module")
def big_wrong_upload(server_dirs):
    """784 -> 9800 -> 10: 7.78 M float32 weights, 31.1 MB in 8 shards; the base has 8 units."""
    model_json, shards = model_files(mlp(9800, seed=3), server_dirs["exports"] / "big")
    size = len(model_json) + sum(map(len, shards.values()))
    assert 30e6 < size < 32 * 2**20 - 2**20, size
    return model_json, shards


def test_concurrent_big_wrong_uploads_stay_bounded(server_dirs, tmp_path, big_wrong_upload):
    store = tmp_path / "store"
    args = ["--models", str(server_dirs["models"]), "--store", str(store),
            "--writes-per-minute", "100"]
    with serve_process(args) as (url, process):
        before = snapshot(store)
        idle_rss = _peak_rss_mb(process.pid)
        prober = subprocess.Popen([sys.executable, "-c", PROBE, url], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert prober.stdout.readline() == "ready\n"

        def send(_: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=120) as http:
                return upload(http, "too-wide", *big_wrong_upload)

        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            responses = list(pool.map(send, range(CONCURRENT)))
        prober.stdin.write("stop\n")
        prober.stdin.close()
        latencies = json.loads(prober.stdout.read())
        prober.wait(timeout=60)
        peak_rss = _peak_rss_mb(process.pid)

    print(f"\nshadernet serve peak RSS: {idle_rss:.0f} MB idle, {peak_rss:.0f} MB after "
          f"{CONCURRENT} concurrent {sum(map(len, big_wrong_upload[1].values())) / 1e6:.1f} MB "
          f"uploads; /healthz max {max(latencies):.3f} s over {len(latencies)} probes")
    for response in responses:
        assert response.status_code == 422, response.text
        assert response.json() == {"detail": "model.json does not match the topology of its base "
                                              "'default' (shipped): layers[1] 'dense': config "
                                              "'units' is 9800, the base has 8"}
    assert snapshot(store) == before
    assert peak_rss < PEAK_RSS_LIMIT_MB
    assert latencies and max(latencies) < HEALTHZ_LIMIT_S
