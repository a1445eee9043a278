"""A store that checks itself: damaged versions are skipped, never served, never in the way.

Each test damages a saved version on disk the way a crash, a full disk or a hand edit
would, then asks the real server (uvicorn) for listings, files and new uploads.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import urllib.parse

import pytest

from server.main import create_app
from tests.server.conftest import json_detail, upload

NEWEST_CASES = ["meta-wrong-types", "meta-not-json", "meta-missing", "file-missing",
                "shard-truncated", "shard-same-size-other-bytes", "model-json-edited"]


def _saved(http, exports, name: str, seed: int) -> tuple[str, dict]:
    response = upload(http, name, *exports(seed=seed))
    assert response.status_code == 201, response.text
    return response.json()["version"], response.json()


def _damage(folder, case: str) -> None:
    meta_path = folder / "meta.json"
    shard = folder / "group1-shard1of1.bin"
    if case == "meta-wrong-types":
        meta = json.loads(meta_path.read_text())
        meta["parameters"], meta["created"] = "many", 12
        meta_path.write_text(json.dumps(meta))
    elif case == "meta-not-json":
        meta_path.write_text("{oops")
    elif case == "meta-missing":
        meta_path.unlink()
    elif case == "file-missing":
        shard.unlink()
    elif case == "shard-truncated":
        shard.write_bytes(shard.read_bytes()[:100])
    elif case == "shard-same-size-other-bytes":
        data = bytearray(shard.read_bytes())
        data[0] ^= 0xFF
        shard.write_bytes(bytes(data))
    elif case == "model-json-edited":
        (folder / "model.json").write_text((folder / "model.json").read_text().replace(
            '"relu"', '"tanh"'))


@pytest.mark.parametrize("case", NEWEST_CASES)
def test_damaged_newest_version_is_skipped_and_blocks_nothing(http, exports, server_dirs, case,
                                                              caplog):
    name = f"damaged-{case}"
    good, _ = _saved(http, exports, name, seed=1)
    bad, _ = _saved(http, exports, name, seed=2)
    folder = server_dirs["store"] / name / bad
    _damage(folder, case)

    with caplog.at_level(logging.WARNING, logger="shadernet.server"):
        for _ in range(3):
            listing = http.get("/api/models")
    logged = [r.getMessage() for r in caplog.records if str(folder) in r.getMessage()]
    assert len(logged) == 1 and "is damaged and skipped" in logged[0], logged
    assert listing.status_code == 200
    versions = {m["name"]: [v["version"] for v in m["versions"]] for m in listing.json()}
    assert versions[name] == [good]
    assert http.get("/healthz").status_code == 200
    for file in ("model.json", "group1-shard1of1.bin", "meta.json"):
        response = http.get(f"/api/models/{name}/versions/{bad}/{file}")
        assert response.status_code == 404
        assert f"no version '{bad}'" in json_detail(response)
    # Neither as the newest version of the name nor as a base does it break an upload.
    again = upload(http, name, *exports(seed=3))
    assert again.status_code == 201, again.text
    assert again.json()["version"] == f"v{int(bad[1:]) + 1}"
    based = upload(http, f"{name}-child", *exports(seed=4), base=name)
    assert based.status_code == 201, based.text


def test_file_damaged_after_listing_is_not_served(http, exports, server_dirs):
    version, _ = _saved(http, exports, "late-damage", seed=5)
    url = f"/api/models/late-damage/versions/{version}/group1-shard1of1.bin"
    assert http.get(url).status_code == 200
    shard = server_dirs["store"] / "late-damage" / version / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-4])
    response = http.get(url)
    assert response.status_code == 404


def test_symlinks_in_the_store_are_never_followed(http, exports, server_dirs, tmp_path):
    version, created = _saved(http, exports, "linked", seed=6)
    folder = server_dirs["store"] / "linked" / version
    secret = tmp_path / "secret.bin"
    secret.write_bytes((folder / "group1-shard1of1.bin").read_bytes())  # same size and hash
    (folder / "group1-shard1of1.bin").unlink()
    (folder / "group1-shard1of1.bin").symlink_to(secret)
    response = http.get(f"/api/models/linked/versions/{version}/group1-shard1of1.bin")
    assert response.status_code == 404
    # A whole model folder linked from elsewhere is not listed either.
    os.symlink(server_dirs["store"] / "linked", server_dirs["store"] / "alias")
    names = [m["name"] for m in http.get("/api/models").json()]
    assert "alias" not in names
    assert http.get("/api/models/alias/versions").status_code == 404


@pytest.mark.parametrize("file_name", ["../../../../etc/hostname", "/etc/hostname",
                                       "shard.bin\n", "sub/shard.bin", ".hidden"])
def test_meta_json_naming_files_outside_is_damaged(http, exports, server_dirs, file_name):
    name = "meta-" + str(abs(hash(file_name)) % 10**6)
    version, _ = _saved(http, exports, name, seed=7)
    meta_path = server_dirs["store"] / name / version / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["files"][1]["name"] = file_name
    meta_path.write_text(json.dumps(meta))
    assert http.get(f"/api/models/{name}").status_code == 404
    quoted = urllib.parse.quote(file_name, safe="")
    response = http.get(f"/api/models/{name}/versions/{version}/{quoted}")
    assert response.status_code == 404


def test_manifest_shard_name_with_a_newline_is_refused(http, exports, server_dirs):
    model_json, shards = exports(seed=8)
    parsed = json.loads(model_json)
    parsed["weightsManifest"][0]["paths"] = ["shard.bin\n"]
    before = sorted(p.name for p in server_dirs["store"].iterdir())
    response = upload(http, "newline", json.dumps(parsed).encode(),
                      {"shard.bin\n": next(iter(shards.values()))})
    assert response.status_code == 422
    assert re.search(r"shard 'shard.bin\\n', not a plain file name|shard.bin", json_detail(response))
    assert sorted(p.name for p in server_dirs["store"].iterdir()) == before


def test_staging_leftovers_are_removed_at_start(settings, server_dirs):
    store = server_dirs["store"]
    store.mkdir(exist_ok=True)
    leftovers = [store / ".upload-999999999-abcd", store / ".upload-old", store / ".deleting-999999998-x"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "model.json").write_bytes(b"{}")
    kept = store / f".upload-{os.getppid()}-live"  # a live writer (another worker) keeps its own
    kept.mkdir()
    create_app(settings)
    assert [folder.exists() for folder in leftovers] == [False, False, False]
    assert kept.exists()
    shutil.rmtree(kept)


def _legacy_version(store, name: str, model_json: bytes, shards: dict[str, bytes]):
    """A version as the server before meta.json had digests wrote it."""
    folder = store / name / "v1"
    folder.mkdir(parents=True)
    (folder / "model.json").write_bytes(model_json)
    for file, data in shards.items():
        (folder / file).write_bytes(data)
    size = len(model_json) + sum(map(len, shards.values()))
    (folder / "meta.json").write_text(json.dumps({
        "name": name, "base": "default", "created": "2026-11-30T10:00:00+00:00",
        "parameters": 6370, "size_bytes": size, "files": ["model.json", *shards]}))
    return folder


def test_versions_saved_by_an_older_server_are_upgraded(http, settings, exports, server_dirs):
    store = server_dirs["store"]
    sound = _legacy_version(store, "old-sound", *exports(seed=20))
    model_json, shards = exports(seed=21)
    broken = _legacy_version(store, "old-broken", model_json,
                             {k: v[:-8] for k, v in shards.items()})
    broken_meta = (broken / "meta.json").read_bytes()
    create_app(settings)  # a restart of the server on this store
    meta = json.loads((sound / "meta.json").read_text())
    assert [f["name"] for f in meta["files"]] == ["model.json", "group1-shard1of1.bin"]
    assert all(len(f["sha256"]) == 64 for f in meta["files"])
    listed = {m["name"]: m["versions"] for m in http.get("/api/models").json()}
    assert [v["version"] for v in listed["old-sound"]] == ["v1"]
    assert listed["old-sound"][0]["created"].startswith("2026-11-30T10:00:00")
    assert "old-broken" not in listed
    assert (broken / "meta.json").read_bytes() == broken_meta  # left as it was
