"""HTTP hygiene and bounded input: JSON limits, JSON errors everywhere, HEAD, security
headers, idle connections closed. Through a real uvicorn."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest

from server.connections import IdleClosingH11Protocol
from server.deps import get_store
from server.http_hygiene import CONTENT_SECURITY_POLICY
from tests.server.conftest import json_detail, upload
from tests.support.live_server import live_server


# ----------------------------------------------------------------------------- JSON limits

def _with(model_json: bytes, edit) -> bytes:
    parsed = json.loads(model_json)
    edit(parsed)
    return json.dumps(parsed).encode()


def _deep(levels: int) -> bytes:
    return b'{"format": ' + b"[" * levels + b"]" * levels + b"}"


JSON_CASES = {
    "5000-digit-int": (lambda m: m.replace(b'"units": 8', b'"units": ' + b"9" * 5000), 422,
                       r"model.json: a number of 5000 characters \(99999.*over the limit of 64"),
    "long-float": (lambda m: m.replace(b'"units": 8', b'"units": 0.' + b"1" * 100), 422,
                   r"a number of 102 characters"),
    "huge-exponent": (lambda m: m.replace(b'"units": 8', b'"units": 1e999'), 422,
                      r"the number 1e999 overflows a double"),
    "nested-100": (lambda m: _deep(100), 422, r"model.json: nested more than 32 levels deep"),
    "nested-50000": (lambda m: _deep(50_000), 422, r"model.json: nested more than 32 levels deep"),
    "duplicate-key": (lambda m: b'{"format": 1, "format": 2}', 422,
                      r"duplicate key 'format' in one object"),
    "nan": (lambda m: m.replace(b'"units": 8', b'"units": NaN'), 422,
            r"NaN is not valid JSON"),
    "metadata-100k": (lambda m: _with(m, lambda p: p.update(userDefinedMetadata={"x": "y" * 100_000})),
                      422, r"model.json: userDefinedMetadata is 100\d{3} bytes as JSON, over the "
                           r"limit of 65536 bytes"),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_json_limits_refuse_with_4xx(http, exports, unchanged, case):
    edit, status, pattern = JSON_CASES[case]
    model_json, shards = exports(seed=1)
    response = upload(http, "limits", edit(model_json), shards)
    assert response.status_code == status, response.text
    assert re.search(pattern, json_detail(response)), json_detail(response)


def test_model_json_over_a_mebibyte_is_413(settings, tmp_path, exports):
    from dataclasses import replace

    from server.main import create_app

    big = replace(settings, store_dir=tmp_path / "store", max_upload_bytes=4 * 2**20)
    model_json, shards = exports(seed=2)
    padded = model_json[:-1] + b', "signature": "' + b"x" * (2**20) + b'"}'
    with live_server(create_app(big)) as url, httpx.Client(base_url=url, timeout=30) as client:
        response = upload(client, "padded", padded, shards)
    assert response.status_code == 413
    assert re.search(r"model.json is \d+ bytes, over the limit of 1048576", json_detail(response))
    assert list((tmp_path / "store").iterdir()) == []


# ----------------------------------------------------------------------------- errors, HEAD, headers

def test_every_error_is_json(app, http, unchanged):
    assert json_detail(http.get("/no/such/page")) == "Not Found"
    assert json_detail(http.post("/healthz")) == "Method Not Allowed"
    assert http.get("/static/missing.js").status_code == 404

    def broken_store():
        raise RuntimeError("disk on fire")
    app.dependency_overrides[get_store] = broken_store
    try:
        response = http.get("/api/models")
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert json_detail(response) == ("internal server error (RuntimeError); the server log has "
                                 "the details")
    # uvicorn closes the connection after it: the client is told not to reuse it, and the
    # next request (on a new connection) is answered.
    assert response.headers["connection"] == "close"
    assert http.get("/api/models").status_code == 200


@pytest.mark.parametrize("url", ["/", "/healthz", "/api/models", "/static/app.js",
                                 "/api/models/default/versions/shipped/model.json",
                                 "/api/models/default/versions/shipped/group1-shard1of1.bin"])
def test_head_works_where_get_does(http, url):
    got = http.get(url)
    head = http.head(url)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if "content-length" in got.headers:
        assert head.headers["content-length"] == got.headers["content-length"]
    assert http.head("/no/such/page").status_code == 404


@pytest.mark.parametrize("url", ["/", "/api/models", "/static/app.js", "/no/such/page"])
def test_security_headers_on_every_response(http, url):
    headers = http.get(url).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "server" not in headers or "uvicorn" not in headers["server"]


def test_idle_and_slow_connections_are_closed(app):
    class QuickProtocol(IdleClosingH11Protocol):
        header_seconds = 0.5

    with live_server(app, http=QuickProtocol, timeout_keep_alive=1) as url:
        port = int(url.rsplit(":", 1)[1])
        for first_bytes in (b"", b"GET / HTTP/1.1\r\nHo"):  # silent, and headers never finished
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(first_bytes)
                started = time.monotonic()
                assert sock.recv(1024) == b""  # the server closed it
                assert time.monotonic() - started < 3
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            while sock.recv(4096):
                pass
            assert time.monotonic() - started < 3  # idle keep-alive closed too


def test_docs_page_policy_allows_exactly_its_inline_script(http):
    import base64
    import hashlib

    response = http.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
