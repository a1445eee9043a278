"""A converter file with BatchNormalization (tests/keras_corpus/mnist_batchnorm, trained in
Keras) served as the page's model: taught a few drawings and fine-tuned in the page (gamma,
beta, kernels and biases train; the moving statistics stay), saved to the server; the
saved files load in TF.js 4.22 and predict what the page predicts, and picking the saved
version after a reload predicts the same again."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from server.settings import REPO_ROOT
from tests.browser.test_tfjs_oracle import EXPORT_ROOT as ORACLE_ROOT
from tests.browser.test_tfjs_oracle import tfjs_predict
from tests.e2e.digits import DIGITS, place
from tests.export.keras_corpus import CORPUS
from tests.support.live_server import app_serving, live_server
from tests.support.page_driver import DrawingPage, draw
from webgl_backend.model_format import read_model_dir

pytestmark = pytest.mark.browser

KERAS_MODEL = CORPUS / "mnist_batchnorm"
TAUGHT = (3, 5, 8)
PROBE = (2, (0.5, 0.5, 0.65))
TRAIN_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def batchnorm_page(browser, tmp_path_factory):
    """The app serving the converted BatchNormalization model as `default`, one page."""
    root = tmp_path_factory.mktemp("e2e-keras-bn")
    with live_server(app_serving(KERAS_MODEL, root)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield DrawingPage(page, url + "/?replay=100&epochs=2&copies=5"), root
        context.close()


def _seen_image(page) -> np.ndarray:
    """The 28x28 image the page classifies, as its preview canvas shows it."""
    return np.array(page.evaluate(
        "() => Array.from(document.querySelector('[data-testid=input-preview]')"
        ".getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 == 0)"),
        dtype=np.float32).reshape(1, 28, 28, 1) / 255


def _draw(drawing: DrawingPage, digit: int, where=(0.5, 0.5, 0.7)) -> None:
    drawing.page.get_by_test_id("clear").click()
    draw(drawing.page, place(DIGITS[digit], *where))
    drawing.wait_settled()


def _weights(folder) -> dict[str, np.ndarray]:
    return {n: np.asarray(v, np.float32) for spec in read_model_dir(folder).layers
            for n, _, v in spec.weights}


def _manifest(folder) -> list[str]:
    model = json.loads((folder / "model.json").read_text())
    return [w["name"] for group in model["weightsManifest"] for w in group["weights"]]


def test_a_batchnorm_model_fine_tuned_in_the_page_saves_what_tfjs_and_the_page_read_alike(
        batchnorm_page, page, static_server):
    drawing, root = batchnorm_page
    assert drawing.page.evaluate("document.body.dataset.training") == "true"
    for digit in TAUGHT:
        _draw(drawing, digit)
        drawing.page.get_by_test_id(f"label-{digit}").click()
    drawing.page.get_by_test_id("train").click()
    drawing.page.wait_for_function("() => /^Training… step [0-9]+ of/.test("
                                   "document.querySelector('[data-testid=status]').textContent)")
    drawing.wait_ready(TRAIN_TIMEOUT_MS)
    _draw(drawing, PROBE[0], PROBE[1])
    tuned = np.array(drawing.probabilities())
    image = _seen_image(drawing.page)

    drawing.page.get_by_test_id("save-name").fill("bn-hand")
    drawing.page.get_by_test_id("save").click()
    drawing.page.wait_for_function("() => /saved as|failed/i.test(document.querySelector("
                                   "'[data-testid=status]').textContent)")
    assert "saved as bn-hand v1" in drawing.status()
    saved = root / "store" / "bn-hand" / "v1"
    assert sorted(_manifest(saved)) == sorted(_manifest(KERAS_MODEL))
    before, after = _weights(KERAS_MODEL), _weights(saved)
    for name, values in before.items():
        if name.endswith(("/moving_mean", "/moving_variance")):
            assert after[name].tobytes() == values.tobytes(), f"{name} must stay frozen"
        else:
            assert not np.array_equal(after[name], values), f"{name} did not train"

    folder = REPO_ROOT / ".cache" / "test-exports" / "keras-bn-teach"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(saved, folder)
    (REPO_ROOT / ORACLE_ROOT).mkdir(parents=True, exist_ok=True)
    (REPO_ROOT / ORACLE_ROOT / "blank.html").write_text("<!doctype html><title>oracle</title>")
    theirs = tfjs_predict(page, static_server, folder.relative_to(REPO_ROOT).as_posix(), image,
                          "cpu").ravel()
    assert theirs.argmax() == tuned.argmax(), (theirs, tuned)
    assert np.abs(theirs - tuned).max() <= 1e-4, (theirs, tuned)

    drawing.open()  # reload: the shipped model again, then the saved version picked
    picker = drawing.page.get_by_test_id("model-picker")
    saved_option = picker.locator("option", has_text="bn-hand v1").first
    saved_option.wait_for(state="attached")  # the list of versions comes after Ready
    picker.select_option(label=saved_option.text_content())
    drawing.wait_ready()
    assert "bn-hand v1 loaded" in drawing.status()
    _draw(drawing, PROBE[0], PROBE[1])
    np.testing.assert_allclose(drawing.probabilities(), tuned, atol=1e-5)
