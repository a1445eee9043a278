"""A server safe to put on a network: who may write, how much, and HTTP hygiene.

Every test goes through a real uvicorn (the `live_server` helper) and checks the status,
the JSON detail and, where nothing should change, that nothing on disk did.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace

import httpx
import pytest

from server.main import create_app
from tests.server.conftest import json_detail, snapshot, upload
from tests.support.live_server import live_server

TOKEN = "s3cret-token-for-tests"
OTHER_SITE = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}


@contextlib.contextmanager
def _served(settings, tmp_path, **changes):
    """A server on its own store (`tmp_path/store`) with `changes` to the settings."""
    settings = replace(settings, store_dir=tmp_path / "store", **changes)
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http, settings.store_dir


# ----------------------------------------------------------------------------- same-origin writes

@pytest.mark.parametrize("headers, match", [
    (OTHER_SITE, r"cross-origin write refused: Origin 'http://evil.example' is not this server"),
    ({"Origin": "http://evil.example"}, r"Origin 'http://evil.example' is not this server"),
    ({"Origin": "null"}, r"Origin 'null' is not this server"),
    ({"Sec-Fetch-Site": "cross-site"}, r"Sec-Fetch-Site is 'cross-site' and no Origin"),
    ({"Sec-Fetch-Site": "same-site"}, r"Sec-Fetch-Site is 'same-site'"),
], ids=["curl-evil", "no-cors-form", "null-origin", "fetch-site-only", "same-site"])
def test_cross_origin_writes_are_refused(http, exports, unchanged, headers, match):
    files = [("model_json", ("model.json", exports(seed=1)[0]))] + [
        ("shards", (k, v)) for k, v in exports(seed=1)[1].items()]
    response = http.post("/api/models/evil/versions", files=files, headers=headers)
    assert response.status_code == 403
    assert re.search(match, json_detail(response)), json_detail(response)
    assert "--allow-origin" in json_detail(response)
    response = http.delete("/api/models/anything/versions/v1", headers=headers)
    assert response.status_code == 403


def test_same_origin_and_allowed_origins_may_write(http, live_server, exports, settings,
                                                  tmp_path):
    for headers in ({"Origin": live_server, "Sec-Fetch-Site": "same-origin"},
                    {"Origin": live_server.replace("127.0.0.1", "localhost")},
                    {"Sec-Fetch-Site": "same-origin"}, {}):  # {}: curl, scripts
        response = http.post("/api/models/own-page/versions", files=_files(*exports(seed=2)),
                             headers={**headers, "Host": headers.get("Origin", live_server
                                                                     ).split("//")[1]})
        assert response.status_code == 201, response.text
    with _served(settings, tmp_path, allowed_origins=("https://class.example.org",)) as (other, _):
        response = other.post("/api/models/from-class/versions", files=_files(*exports(seed=3)),
                              headers={"Origin": "https://class.example.org",
                                       "Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 201, response.text


def _files(model_json: bytes, shards: dict[str, bytes]) -> list:
    return [("model_json", ("model.json", model_json))] + [("shards", (k, v))
                                                           for k, v in shards.items()]


@pytest.mark.parametrize("host", ["evil.example", "rebind.attacker.test:8000", "127.0.0.2"])
def test_unknown_host_header_is_refused(http, host, unchanged, exports):
    for method, url in (("GET", "/"), ("GET", "/api/models"), ("POST", "/api/models/x/versions")):
        response = http.request(method, url, headers={"Host": host})
        assert response.status_code == 400
        assert re.search(rf"Host '{re.escape(host)}' is not served here .*--allowed-host",
                         json_detail(response))


# ----------------------------------------------------------------------------- write access

def test_upload_token_required_when_set(settings, tmp_path, exports):
    with _served(settings, tmp_path, upload_token=TOKEN) as (http, store):
        config = http.get("/api/config").json()
        assert config["upload_token_required"] is True and config["read_only"] is False
        page = http.get("/").text
        assert '"upload_token_required": true' in page
        before = snapshot(store)
        for headers, match in (({}, r"requires an upload token .*'Authorization: Bearer <token>'"),
                               ({"Authorization": "Bearer wrong"}, r"the upload token is wrong"),
                               ({"Authorization": TOKEN}, r"requires an upload token")):
            response = http.post("/api/models/mine/versions", files=_files(*exports(seed=4)),
                                 headers=headers)
            assert response.status_code == 401
            assert re.search(match, json_detail(response)), json_detail(response)
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert snapshot(store) == before
        response = http.post("/api/models/mine/versions", files=_files(*exports(seed=4)),
                             headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 201, response.text
        assert http.delete("/api/models/mine/versions/v1").status_code == 401
        assert http.delete("/api/models/mine/versions/v1",
                           headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 204


def test_read_only_server_refuses_every_write(settings, tmp_path, exports):
    with _served(settings, tmp_path, read_only=True) as (http, store):
        assert http.get("/api/config").json()["read_only"] is True
        before = snapshot(store)
        for response in (http.post("/api/models/mine/versions", files=_files(*exports(seed=5))),
                         http.delete("/api/models/mine/versions/v1")):
            assert response.status_code == 403
            assert json_detail(response).startswith("this server is read-only (--read-only)")
        assert http.get("/api/models").status_code == 200
        assert snapshot(store) == before


def test_writes_are_rate_limited_per_client(settings, tmp_path, exports):
    with _served(settings, tmp_path, writes_per_minute=3) as (http, store):
        statuses = [http.post("/api/models/burst/versions",
                              files=_files(*exports(seed=6))).status_code for _ in range(3)]
        assert statuses == [201, 201, 201]
        before = snapshot(store)
        response = http.post("/api/models/burst/versions", files=_files(*exports(seed=6)))
        assert response.status_code == 429
        assert re.search(r"too many writes from 127.0.0.1: at most 3 per minute; try again in "
                         r"\d+ s", json_detail(response))
        assert 1 <= int(response.headers["retry-after"]) <= 20
        assert http.get("/api/models/burst").status_code == 200  # reads are not limited
        assert snapshot(store) == before


def test_store_quota_refuses_with_507_then_413(settings, tmp_path, exports):
    model_json, shards = exports(seed=7)
    size = len(model_json) + sum(map(len, shards.values()))
    with _served(settings, tmp_path, max_store_bytes=int(size * 1.5)) as (http, store):
        assert http.post("/api/models/full/versions", files=_files(model_json, shards)
                         ).status_code == 201
        before = snapshot(store)
        response = http.post("/api/models/full/versions", files=_files(*exports(seed=8)))
        assert response.status_code == 507
        assert re.search(r"the store is full: it holds \d+ of \d+ bytes \(--max-store-mb\) and "
                         r"this upload needs \d+; delete saved versions", json_detail(response))
        assert snapshot(store) == before
        assert http.delete("/api/models/full/versions/v1").status_code == 204
        assert http.post("/api/models/full/versions", files=_files(*exports(seed=8))
                         ).status_code == 201
    with _served(settings, tmp_path / "tiny", max_store_bytes=size // 2) as (http, store):
        response = http.post("/api/models/big/versions", files=_files(model_json, shards))
        assert response.status_code == 413
        assert "more than the whole store's quota" in json_detail(response)


def test_delete_removes_a_saved_version_and_never_reuses_its_number(http, exports, server_dirs):
    first = exports(seed=9)
    assert upload(http, "gone", *first).status_code == 201
    assert upload(http, "gone", *exports(seed=10)).status_code == 201
    response = http.delete("/api/models/gone/versions/v2")
    assert response.status_code == 204 and response.content == b""
    assert [v["version"] for v in http.get("/api/models/gone").json()["versions"]] == ["v1"]
    response = http.get("/api/models/gone/versions/v2/model.json")
    assert response.status_code == 404 and "no version 'v2'" in json_detail(response)
    again = upload(http, "gone", *exports(seed=11))
    assert again.json()["version"] == "v3"  # v2's cached URLs can never show other files
    response = http.delete("/api/models/gone/versions/v2")
    assert response.status_code == 404 and "has no version 'v2'" in json_detail(response)
    assert not (server_dirs["store"] / "gone" / "v2").exists()
    assert http.get("/api/models/gone/versions/v1/model.json").content == first[0]


# ----------------------------------------------------------------------------- the serve command

def _serve_args(argv: list[str]):
    import argparse

    from server.cli import add_serve_arguments

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(argv)


def test_serve_options_become_settings(monkeypatch):
    from server.cli import settings_of

    monkeypatch.setenv("SHADERNET_UPLOAD_TOKEN", "from-env")
    settings = settings_of(_serve_args([
        "--host", "10.0.0.5", "--allowed-host", "Digits.Example.org", "--allow-origin",
        "https://digits.example.org/", "--read-only", "--writes-per-minute", "5",
        "--max-store-mb", "1.5"]))
    assert settings.allowed_hosts == ("localhost", "127.0.0.1", "::1", "10.0.0.5",
                                      "digits.example.org")
    assert settings.allowed_origins == ("https://digits.example.org",)
    assert settings.upload_token == "from-env" and settings.read_only is True
    assert (settings.writes_per_minute, settings.max_store_bytes) == (5, int(1.5 * 2**20))
    explicit = settings_of(_serve_args(["--upload-token", "given", "--host", "0.0.0.0"]))
    assert explicit.upload_token == "given" and "0.0.0.0" not in explicit.allowed_hosts


@pytest.mark.parametrize("argv, message", [
    (["--writes-per-minute", "0"], "--writes-per-minute must be positive, got 0"),
    (["--max-store-mb", "-1"], "--max-store-mb must be positive, got -1"),
    (["--upload-token", " "], "--upload-token (or $SHADERNET_UPLOAD_TOKEN) is empty"),
])
def test_bad_serve_options_are_one_line_and_exit_2(argv, message, capsys):
    from server.cli import run_serve

    assert run_serve(_serve_args(argv)) == 2
    assert capsys.readouterr().err.strip() == f"shadernet serve: error: {message}"


def test_refused_writes_answer_even_while_the_client_still_sends(http, unchanged):
    """A refusal before the body is read must still reach the client (not a TCP reset):
    the body, under the upload limit, is read and dropped first."""
    body = [("model_json", ("model.json", b"{}")), ("shards", ("s.bin", b"\0" * 190_000))]
    for _ in range(5):
        response = http.post("/api/models/evil/versions", files=body, headers=OTHER_SITE)
        assert response.status_code == 403
        assert "cross-origin write refused" in json_detail(response)
