"""The model API: listing, downloads, uploads as new versions, and every refusal.

Each refusal is checked for its status, a detail sentence that says what was wrong, and
an unchanged disk (a hash of every path under the store and the shipped models).
"""

from __future__ import annotations

import json
import re
import struct
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.server.conftest import UPLOAD_LIMIT, json_detail, snapshot, upload


# ----------------------------------------------------------------------------- reading

def test_list_shows_shipped_models_read_only(client):
    listing = {m["name"]: m["versions"] for m in client.get("/api/models").json()}
    assert {"default", "wide"} <= set(listing)
    shipped = listing["default"][0]
    assert shipped["version"] == "shipped" and shipped["read_only"] is True
    assert shipped["base"] is None
    assert shipped["parameters"] == 784 * 8 + 8 + 8 * 10 + 10
    assert shipped["files"] == ["model.json", "group1-shard1of1.bin"]
    assert shipped["size_bytes"] > shipped["parameters"] * 4
    assert re.fullmatch(r"/api/models/default/versions/shipped@[0-9a-f]{16}/model\.json",
                        shipped["model_json_url"]), shipped["model_json_url"]


def test_shipped_files_download_with_types_and_revalidation(client, server_dirs):
    folder = server_dirs["models"] / "default"
    response = client.get("/api/models/default/versions/shipped/model.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (folder / "model.json").read_bytes()
    shard = client.get("/api/models/default/versions/shipped/group1-shard1of1.bin")
    assert shard.headers["content-type"] == "application/octet-stream"
    assert shard.content == (folder / "group1-shard1of1.bin").read_bytes()
    again = client.get("/api/models/default/versions/shipped/model.json",
                       headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_a_pinned_shipped_url_is_cached_for_good_until_the_files_change(client, server_dirs):
    """The listing's (and the page's) URL names the shipped files' content: cached for a
    year, shards beside it likewise; once a file changes, the old token is a 404 naming
    the new URL, whose files are the new ones (never new files under an old token)."""
    folder = server_dirs["models"] / "default"
    listing = {m["name"]: m["versions"][0]["model_json_url"] for m in client.get("/api/models").json()}
    url = listing["default"]
    base = url.rsplit("/", 1)[0]
    model = client.get(url)
    shard = client.get(f"{base}/group1-shard1of1.bin")
    assert model.status_code == shard.status_code == 200
    assert "immutable" in model.headers["cache-control"] and "immutable" in shard.headers["cache-control"]
    assert model.content == (folder / "model.json").read_bytes()
    assert shard.content == (folder / "group1-shard1of1.bin").read_bytes()
    original = (folder / "group1-shard1of1.bin").read_bytes()
    weights = bytearray(original)
    weights[:4] = struct.pack("<f", 0.25)  # same size, other content
    try:
        (folder / "group1-shard1of1.bin").write_bytes(bytes(weights))
        stale = client.get(f"{base}/group1-shard1of1.bin")
        new_url = {m["name"]: m["versions"][0]["model_json_url"]
                   for m in client.get("/api/models").json()}["default"]
        assert new_url != url
        assert stale.status_code == 404 and new_url in json_detail(stale), stale.text
        fresh = client.get(new_url.rsplit("/", 1)[0] + "/group1-shard1of1.bin")
        assert fresh.status_code == 200 and fresh.content == bytes(weights)
    finally:
        (folder / "group1-shard1of1.bin").write_bytes(original)
    saved = client.get("/api/models/default/versions/v1@0123456789abcdef/model.json")
    assert saved.status_code == 404


@pytest.mark.parametrize("url, status, match", [
    ("/api/models/nope", 404, r"model 'nope' does not exist \(known models: .*default"),
    ("/api/models/nope/versions/shipped/model.json", 404, r"model 'nope' does not exist"),
    ("/api/models/default/versions/v99/model.json", 404,
     r"no version 'v99' \(its versions: shipped"),
    ("/api/models/default/versions/latest", 404, r"version 'latest' does not exist"),
    ("/api/models/default/versions/shipped/meta.json", 404,
     r"has no file 'meta.json' \(its files: model.json"),
    ("/api/models/default/versions/shipped/..%2F..%2Fwide%2Fmodel.json", 404,
     r"has no file '../../wide/model.json'"),
    ("/api/models/..%2Fmodels%2Fdefault/versions/shipped/model.json", 400,
     r"model name '../models/default' is not allowed"),
    ("/api/models/Default/versions", 400,
     r"model name 'Default' is not allowed: use 1 to 64 characters"),
], ids=["unknown-model", "unknown-model-file", "unknown-version", "malformed-version",
        "unlisted-file", "file-traversal", "name-traversal", "uppercase-name"])
def test_get_unknown_things_is_a_sentence(client, url, status, match):
    response = client.get(url)
    assert response.status_code == status
    assert re.search(match, json_detail(response)), json_detail(response)


# ----------------------------------------------------------------------------- uploads that land

def test_uploads_land_as_v1_then_v2_byte_identical(client, exports):
    first, second = exports(seed=11), exports(seed=12)
    response = upload(client, "digits-ab", *first)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["version"], created["base"]) == ("digits-ab", "v1", "default")
    assert created["read_only"] is False and created["parameters"] == 6370
    assert created["size_bytes"] == len(first[0]) + sum(map(len, first[1].values()))
    response = upload(client, "digits-ab", *second, base="default")
    assert response.status_code == 201 and response.json()["version"] == "v2"

    for version, (model_json, shards) in (("v1", first), ("v2", second)):
        url = f"/api/models/digits-ab/versions/{version}"
        got = client.get(f"{url}/model.json")
        assert got.content == model_json
        assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
        for name, data in shards.items():
            assert client.get(f"{url}/{name}").content == data
    versions = client.get("/api/models/digits-ab/versions").json()
    assert [v["version"] for v in versions] == ["v1", "v2"]
    assert client.get("/api/models/digits-ab").json()["versions"] == versions
    assert client.get("/api/models/digits-ab/versions/v2").json() == versions[1]


def test_upload_based_on_a_saved_model(client, exports):
    assert upload(client, "chain-a", *exports(seed=21)).status_code == 201
    response = upload(client, "chain-b", *exports(seed=22), base="chain-a")
    assert response.status_code == 201, response.text
    assert response.json()["base"] == "chain-a"


def test_uint8_quantized_upload_is_accepted(client, exports):
    response = upload(client, "small-q", *exports(seed=23, quantize="uint8"))
    assert response.status_code == 201, response.text


def test_concurrent_uploads_land_intact_as_distinct_versions(live_server, exports, server_dirs):
    uploads = [exports(seed=100 + i) for i in range(20)]

    def send(files):
        with httpx.Client(base_url=live_server, timeout=60) as http:
            return upload(http, "crowd", *files)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(send, uploads))
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    versions = [r.json()["version"] for r in responses]
    assert sorted(versions, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(1, 21)]
    with httpx.Client(base_url=live_server) as http:
        for version, (model_json, shards) in zip(versions, uploads):
            url = f"/api/models/crowd/versions/{version}"
            assert http.get(f"{url}/model.json").content == model_json
            for name, data in shards.items():
                assert http.get(f"{url}/{name}").content == data
    leftovers = [p.name for p in server_dirs["store"].iterdir() if p.name.startswith(".")]
    assert leftovers == []


# ----------------------------------------------------------------------------- refused uploads

def _with_nan(shards: dict[str, bytes]) -> dict[str, bytes]:
    name, data = next(iter(shards.items()))
    data = bytearray(data)
    data[40:44] = struct.pack("<f", float("nan"))  # kernel flat index 10
    return {name: bytes(data)}


def _json_without(model_json: bytes, key: str) -> bytes:
    parsed = json.loads(model_json)
    del parsed[key]
    return json.dumps(parsed).encode()


def _manifest_paths(model_json: bytes, paths: list[str]) -> bytes:
    parsed = json.loads(model_json)
    parsed["weightsManifest"][0]["paths"] = paths
    return json.dumps(parsed).encode()


REFUSALS = {
    # id: (name, build(files) -> (model_json, shards), base, status, detail pattern)
    "not-json": ("refused", lambda f: (b"{not json", f[1]), None, 422,
                 r"model.json: not JSON \(Expecting property name"),
    "missing-weightsManifest": ("refused", lambda f: (_json_without(f[0], "weightsManifest"), f[1]),
                                None, 422, r"weightsManifest"),
    "missing-model_json-part": ("refused", lambda f: (None, f[1]), None, 422,
                                r"invalid request: model_json: Field required"),
    "nan-weight": ("refused", lambda f: (f[0], _with_nan(f[1])), None, 422,
                   r"layers\[1\] 'dense': weight 'dense/kernel' holds nan at flat index 10"),
    "short-shard": ("refused", lambda f: (f[0], {k: v[:-4] for k, v in f[1].items()}), None, 422,
                    r"group1-shard1of1.bin: 25476 bytes, manifest needs 25480"),
    "unlisted-shard": ("refused", lambda f: (f[0], {**f[1], "extra.bin": b"1234"}), None, 422,
                       r"shard file 'extra.bin' is not listed in model.json's weightsManifest"),
    "missing-shard": ("refused", lambda f: (f[0], {}), None, 422,
                      r"invalid request: shards: Field required|shard file 'group1-shard1of1.bin'"),
    "duplicate-shard": ("refused", lambda f: (f[0], list(f[1].items()) * 2), None, 422,
                        r"shard file 'group1-shard1of1.bin' was uploaded twice"),
    "shard-named-model.json": ("refused", lambda f: (_manifest_paths(f[0], ["model.json"]),
                                                     {"model.json": next(iter(f[1].values()))}),
                               None, 422, r"lists shard 'model.json', a name reserved"),
    "unknown-base": ("refused", lambda f: f, "nope", 422,
                     r"base model 'nope' does not exist \(known models: .*default"),
    "bad-base-name": ("refused", lambda f: f, "../default", 422,
                      r"base model name '../default' is not allowed"),
    "overwrite-shipped-default": ("default", lambda f: f, None, 409,
                                  r"model 'default' is shipped with the server and read-only"),
    "overwrite-shipped-wide": ("wide", lambda f: f, "wide", 409,
                               r"model 'wide' is shipped with the server and read-only"),
    "name-dotdot": ("%2E%2E", lambda f: f, None, 400, r"model name '..' is not allowed"),
    "name-traversal": ("..%2F..%2Fetc", lambda f: f, None, 400, r"model name '../../etc' is not allowed"),
    "name-absolute": ("%2Ftmp%2Fx", lambda f: f, None, 400, r"model name '/tmp/x' is not allowed"),
    "name-slash": ("a%2Fb", lambda f: f, None, 400, r"model name 'a/b' is not allowed"),
    "name-65-chars": ("a" * 65, lambda f: f, None, 400, r"model name 'a{65}' is not allowed"),
    "name-hidden": (".store", lambda f: f, None, 400, r"model name '.store' is not allowed"),
    "name-space": ("my%20model", lambda f: f, None, 400, r"model name 'my model' is not allowed"),
    # Starlette's path pattern never matches a newline: the router answers before the check.
    "name-newline": ("mine%0A", lambda f: f, None, 404, r"^Not Found$"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_refused_upload_changes_nothing(client, exports, unchanged, case):
    name, build, base, status, pattern = REFUSALS[case]
    model_json, shards = build(exports(seed=31))
    response = upload(client, name, model_json, shards, base=base)
    assert response.status_code == status, response.text
    assert re.search(pattern, json_detail(response)), json_detail(response)


def test_wrong_shapes_vs_base_name_the_layer(client, exports, unchanged):
    response = upload(client, "refused", *exports(units=16, seed=32))
    assert response.status_code == 422
    assert json_detail(response) == (
        "model.json does not match the topology of its base 'default' (shipped): "
        "layers[1] 'dense': config 'units' is 16, the base has 8")


def test_same_shapes_on_a_matching_base_is_accepted(client, exports):
    response = upload(client, "wide-tuned", *exports(units=16, seed=33), base="wide")
    assert response.status_code == 201, response.text


def test_other_topology_under_a_taken_name_is_a_conflict(client, exports, server_dirs):
    assert upload(client, "mixed", *exports(seed=34)).status_code == 201
    before = snapshot(server_dirs["store"], server_dirs["models"])
    response = upload(client, "mixed", *exports(units=16, seed=35), base="wide")
    assert response.status_code == 409
    assert "model 'mixed' already holds versions of another topology (v1: layers[1] 'dense': " \
           "config 'units' is 16, it has 8)" in json_detail(response)
    assert snapshot(server_dirs["store"], server_dirs["models"]) == before


def test_oversized_body_is_refused_from_content_length(client, exports, unchanged):
    model_json, shards = exports(units=80, seed=36)  # 63,610 parameters, about 254 kB
    response = upload(client, "too-big", model_json, shards)
    assert response.status_code == 413
    assert re.search(r"request body is \d+ bytes, over the limit of 200000 bytes", json_detail(response))


def test_oversized_chunked_body_is_cut_off_while_reading(live_server, exports, unchanged):
    model_json, shards = exports(units=80, seed=37)
    boundary = "shadernet-test-boundary"
    parts = [("model_json", "model.json", model_json)] + [("shards", k, v) for k, v in shards.items()]
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                    f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    .encode() + data + b"\r\n" for field, filename, data in parts)
    body += f"--{boundary}--\r\n".encode()

    def chunks():  # no Content-Length: the server only learns the size by counting
        for start in range(0, len(body), 16384):
            yield body[start:start + 16384]

    with httpx.Client(base_url=live_server, timeout=30) as http:
        response = http.post("/api/models/too-big/versions", content=chunks(),
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413
    assert re.search(r"request body is over \d+ bytes, over the limit of 200000 bytes",
                     json_detail(response))


def test_store_refuses_oversized_files_even_without_the_middleware(app, exports, unchanged):
    from server.store import UploadTooLargeError
    model_json, shards = exports(units=80, seed=38)
    with pytest.raises(UploadTooLargeError, match=r"upload holds \d+ bytes of files, over the "
                                                  f"limit of {UPLOAD_LIMIT} bytes"):
        app.state.store.save_version("too-big", model_json, shards)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_versions_cannot_be_replaced(client, method, unchanged):
    for url in ("/api/models/default/versions/shipped/model.json",
                "/api/models/default/versions/shipped"):
        response = client.request(method.upper(), url, content=b"{}")
        assert response.status_code == 405
        assert json_detail(response) == "Method Not Allowed"


def test_shipped_versions_cannot_be_deleted(client, unchanged):
    response = client.delete("/api/models/default/versions/shipped")
    assert response.status_code == 409
    assert "ships with the server and is read-only; only saved versions" in json_detail(response)
    assert client.delete("/api/models/default/versions/shipped/model.json").status_code == 405


def test_multi_shard_upload_missing_one_shard_names_it(client, exports, unchanged):
    model_json, shards = exports(seed=39, shard_size_bytes=10_000)
    assert list(shards) == [f"group1-shard{i}of3.bin" for i in (1, 2, 3)]
    del shards["group1-shard3of3.bin"]
    response = upload(client, "refused", model_json, shards)
    assert response.status_code == 422
    assert json_detail(response) == ("shard file 'group1-shard3of3.bin' listed in model.json's "
                                 "weightsManifest was not uploaded (2 of 3 shards received)")


def test_multi_shard_upload_lands_whole(client, exports):
    model_json, shards = exports(seed=40, shard_size_bytes=10_000)
    response = upload(client, "sharded", model_json, shards)
    assert response.status_code == 201, response.text
    assert response.json()["files"] == ["model.json", *shards]
    for name, data in shards.items():
        assert client.get(f"/api/models/sharded/versions/v1/{name}").content == data


def test_upload_parses_model_json_once_and_reads_it_once(client, exports, monkeypatch):
    """The route parses model.json once (with the JSON limits) and the reader validates and
    decodes it once; nothing else in the upload path parses or re-validates it."""
    import json as json_module

    import server.store.bounded_json as bounded_json
    import server.store.model_store as model_store
    import webgl_backend.model_format as model_format

    files = exports(seed=41)
    calls = {"json.loads": 0, "read_model": 0}
    real_loads, real_read = json_module.loads, model_store.read_model

    def counting_loads(*args, **kwargs):
        calls["json.loads"] += 1
        return real_loads(*args, **kwargs)

    def counting_read(*args, **kwargs):
        calls["read_model"] += 1
        assert isinstance(args[0], dict)  # handed the parsed dict, not bytes to parse again
        return real_read(*args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("the upload path re-parsed model.json")

    monkeypatch.setattr(bounded_json.json, "loads", counting_loads)
    monkeypatch.setattr(model_store, "read_model", counting_read)
    monkeypatch.setattr(model_format, "parse_model_json", forbidden)
    monkeypatch.setattr(model_format, "read_model_dir", forbidden)
    response = upload(client, "parsed-once", *files)
    assert response.status_code == 201, response.text
    assert calls == {"json.loads": 1, "read_model": 1}


def test_an_upload_the_pre_check_cannot_read_is_still_checked_by_the_reader(
        client, exports, monkeypatch, server_dirs):
    """Should the reader accept a form our pre-check does not read (None), the upload is
    still validated, its file names still checked, and stored whole."""
    import server.store.model_store as model_store

    monkeypatch.setattr(model_store, "declared_model", lambda parsed: None)
    model_json, shards = exports(seed=42)
    before = snapshot(server_dirs["store"])
    response = upload(client, "unread", model_json, {**shards, "extra.bin": b"1234"})
    assert response.status_code == 422
    assert "shard file 'extra.bin' is not listed" in json_detail(response)
    assert snapshot(server_dirs["store"]) == before
    response = upload(client, "unread", model_json, shards)
    assert response.status_code == 201, response.text
    assert response.json()["files"] == ["model.json", *shards]
