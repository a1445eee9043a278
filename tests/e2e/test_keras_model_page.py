"""The drawing page serving a Keras model converted by the official converter (the keras.io
MNIST convnet shape, trained in Keras, from tests/keras_corpus/) as its default model: it
reads drawn digits as TF.js 4.22 does with the same files on the same 28x28 image."""

from __future__ import annotations


import numpy as np
import pytest

from server.settings import REPO_ROOT
from tests.browser.test_tfjs_oracle import EXPORT_ROOT as ORACLE_ROOT
from tests.browser.test_tfjs_oracle import tfjs_predict
from tests.support.page_driver import DrawingPage, draw
from tests.e2e.digits import DIGITS, PLACES, place
from tests.export.keras_corpus import CORPUS
from tests.support.live_server import app_serving, live_server

KERAS_MODEL = CORPUS / "keras_io_mnist"


@pytest.fixture(scope="module")
def keras_page(browser, tmp_path_factory):
    """The app serving the converted Keras model as `default`, one page loaded to Ready."""
    root = tmp_path_factory.mktemp("e2e-keras")
    with live_server(app_serving(KERAS_MODEL, root)) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        drawing = DrawingPage(page, url + "/")
        drawing.open()
        drawing.wait_ready()
        yield drawing
        context.close()


def _seen_image(page) -> np.ndarray:
    return np.array(page.evaluate(
        "() => Array.from(document.querySelector('[data-testid=input-preview]')"
        ".getContext('2d').getImageData(0, 0, 28, 28).data).filter((_, i) => i % 4 == 0)"),
        dtype=np.float32).reshape(1, 28, 28, 1) / 255


def test_the_page_reads_drawn_digits_as_tfjs_does_with_the_converter_files(
        keras_page, page, static_server):
    (REPO_ROOT / ORACLE_ROOT).mkdir(parents=True, exist_ok=True)
    (REPO_ROOT / ORACLE_ROOT / "blank.html").write_text("<!doctype html><title>oracle</title>")
    ours, theirs = [], []
    for digit in range(10):
        keras_page.page.get_by_test_id("clear").click()
        draw(keras_page.page, place(DIGITS[digit], *PLACES["centre-large"]))
        keras_page.wait_settled()
        ours.append(int(keras_page.prediction()))
        image = _seen_image(keras_page.page)
        folder = KERAS_MODEL.relative_to(REPO_ROOT).as_posix()
        theirs.append(int(tfjs_predict(page, static_server, folder, image, "cpu").argmax()))
    assert ours == theirs, f"page {ours}, TF.js {theirs}"
    correct = sum(p == d for d, p in enumerate(ours))
    assert correct >= 8, f"the page read {correct} of 10 drawn digits: {ours}"
