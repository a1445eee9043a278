"""The layer table is complete: every entry has a backward (or a declared reason for none),
parity cases, a numpy reference that exists and a numpy layer class; the reader and the
numpy layers take their class lists from it. A new layer with a hole fails here."""

from __future__ import annotations

import importlib
from array import array

import numpy as np
import pytest

from model_export import layers as numpy_layers
from model_export.export import build_files
from tests.ops.layer_cases import sample_model, with_input_layer
from webgl_backend.fake_gl import FakeGL
from webgl_backend import model_format
from webgl_backend.layers import LAYER_CLASSES, LAYERS
from webgl_backend.runtime import Runtime
from webgl_backend.training import FineTuner

ENTRIES = list(LAYERS.values())
IDS = [entry.class_name for entry in ENTRIES]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_declares_a_backward_or_why_it_has_none(entry):
    assert (entry.backward is None) == bool(entry.no_backward), (
        f"{entry.class_name}: give it a backward function or a `no_backward` reason, not "
        f"{'both' if entry.backward else 'neither'}")
    if entry.forward is None:
        assert entry.backward is None, f"{entry.class_name}: a backward without a forward"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_has_parity_cases(entry):
    assert entry.parity, f"{entry.class_name}: no parity case (tests/ops/test_layer_parity.py)"
    ids = [case.id for case in entry.parity]
    assert len(set(ids)) == len(ids), f"{entry.class_name}: two parity cases with one id {ids}"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_names_a_numpy_reference_that_exists(entry):
    module_name, _, attribute = entry.reference.rpartition(".")
    assert module_name.startswith("model_export."), entry.reference
    module = importlib.import_module(module_name)
    assert hasattr(module, attribute), f"{entry.class_name}: {entry.reference} does not exist"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_what_numpy_trains_exports_and_loads_on_the_gpu(entry):
    """Each parity config: numpy builds it, the exporter writes it, the reader accepts it,
    the GPU runtime plans it and fine-tuning builds its step (over FakeGL)."""
    for case in entry.parity:
        model_json, shards = build_files(sample_model(entry, case))
        if entry.class_name == "InputLayer":
            model_json = with_input_layer(model_json)
        model = Runtime(FakeGL()).load_model(model_json, shards)
        tuner = FineTuner(model)
        tuner.configure_training("sgd", 0.1)
        size = int(np.prod(case.input_shape))
        tuner.fit_batch(array("f", [0.5] * (2 * size)), [0, 2], 2)


def test_the_reader_and_the_numpy_layers_list_the_table_classes():
    assert model_format.LAYER_CLASSES == LAYER_CLASSES
    assert set(numpy_layers.LAYER_CLASSES) == set(LAYER_CLASSES) - {"InputLayer"}
