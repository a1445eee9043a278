"""The reader refuses what Python's own parsing would raise on, as ModelFormatError (the
page and the server's upload check show its message; a bare ValueError was a 500)."""

from __future__ import annotations

import json

import pytest

from webgl_backend.errors import ModelFormatError
from webgl_backend.model_format.json_text import load_json
from webgl_backend.model_format.manifest import SHARD_NAME


def test_an_integer_past_the_int_digit_limit_is_a_format_error():
    text = '{"format": "layers-model", "n": ' + "9" * 5000 + "}"
    with pytest.raises(ModelFormatError, match=r"model.json: a number we cannot read"):
        load_json(text)


def test_ordinary_numbers_still_load():
    assert load_json(json.dumps({"n": 12345678901234567890, "x": 1e-30}))["n"] == 12345678901234567890


@pytest.mark.parametrize("name", ["shard.bin\n", "shard.bin\r\n", "../shard.bin", ".hidden"])
def test_shard_names_match_the_whole_rule(name):
    assert SHARD_NAME.fullmatch(name) is None


def test_a_plain_shard_name_matches():
    assert SHARD_NAME.fullmatch("group1-shard1of1.bin")
