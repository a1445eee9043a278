"""Uploading a model trained from scratch (the page's Train panel): `from_scratch=true`, any
topology the reader accepts; later versions of that name must keep its topology."""

from __future__ import annotations

from model_export.layers import Dense, Flatten
from model_export.model import Sequential
from tests.server.conftest import json_detail, model_files


def upload(client, name: str, model_json: bytes, shards: dict[str, bytes], **form):
    files = [("model_json", ("model.json", model_json, "application/json"))]
    files += [("shards", (file, data, "application/octet-stream")) for file, data in shards.items()]
    return client.post(f"/api/models/{name}/versions", files=files, data=form)


def softmax_files(folder, seed: int):
    model = Sequential([Flatten(), Dense(10, activation="softmax")], input_shape=(28, 28, 1),
                       seed=seed)
    return model_files(model, folder)


def test_a_new_topology_saves_from_scratch(client, tmp_path):
    response = upload(client, "scratch-softmax", *softmax_files(tmp_path / "a", 1), from_scratch="true")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["version"], body["base"]) == ("scratch-softmax", "v1", None)
    assert body["parameters"] == 7850
    listed = {m["name"]: m for m in client.get("/api/models").json()}
    assert listed["scratch-softmax"]["versions"][-1]["base"] is None
    second = upload(client, "scratch-softmax", *softmax_files(tmp_path / "b", 2), from_scratch="true")
    assert second.status_code == 201 and second.json()["version"] == "v2"


def test_the_same_topology_with_the_default_base_is_still_refused(client, tmp_path):
    response = upload(client, "softmax-on-default", *softmax_files(tmp_path / "a", 1))
    assert response.status_code == 422
    assert "does not match the topology of its base 'default'" in json_detail(response)


def test_a_later_version_of_another_topology_is_a_conflict(client, tmp_path, exports):
    first = upload(client, "scratch-keep", *softmax_files(tmp_path / "a", 1), from_scratch="true")
    assert first.status_code == 201
    other = upload(client, "scratch-keep", *exports(units=8, seed=5), from_scratch="true")
    assert other.status_code == 409
    assert "already holds versions of another topology" in json_detail(other)


def test_from_scratch_with_a_base_is_refused(client, tmp_path, unchanged):
    response = upload(client, "scratch-both", *softmax_files(tmp_path / "a", 1),
                      from_scratch="true", base="default")
    assert response.status_code == 422
    assert "contradict" in json_detail(response)
