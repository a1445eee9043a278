"""The runtime wheel: valid metadata and RECORD, templates inside, importable on its own."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile

from webgl_backend.wheel import build_runtime_wheel


def test_wheel_has_modules_templates_and_a_correct_record(tmp_path):
    wheel = build_runtime_wheel(tmp_path)
    assert wheel.name == "shadernet_runtime-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"webgl_backend/__init__.py", "webgl_backend/codegen.py",
                "webgl_backend/ops/dense.py", "webgl_backend/shaders/prelude.glsl",
                "webgl_backend/shaders/conv2d_forward.glsl"} <= names
        assert not any("__pycache__" in name for name in names)
        info = "shadernet_runtime-0.1.0.dist-info"
        assert "Tag: py3-none-any" in archive.read(f"{info}/WHEEL").decode()
        assert "Name: shadernet_runtime" in archive.read(f"{info}/METADATA").decode()
        record = archive.read(f"{info}/RECORD").decode().splitlines()
        listed = {line.split(",")[0] for line in record}
        assert listed == names
        for line in record:
            name, digest, size = line.split(",")
            if name.endswith("RECORD"):
                continue
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expected.decode() and int(size) == len(data)


def test_wheel_is_reproducible(tmp_path):
    first = build_runtime_wheel(tmp_path / "a").read_bytes()
    second = build_runtime_wheel(tmp_path / "b").read_bytes()
    assert first == second


def test_unpacked_wheel_reads_its_own_templates(tmp_path):
    wheel = build_runtime_wheel(tmp_path)
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    code = ("import webgl_backend.codegen as c, pathlib; "
            "from webgl_backend.ops.dense import dense_forward; "
            "print(pathlib.Path(c.__file__).parent.parent); "
            "print(dense_forward((1, 5), (5, 2)).source.splitlines()[0])")
    # PYTHONPATH comes before site-packages, so the unpacked copy shadows the checkout.
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, check=True).stdout
    assert out.splitlines() == [str(site), "#version 300 es"]
