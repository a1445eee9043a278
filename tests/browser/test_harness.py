"""The browser harness itself: Chromium starts, serves our files, and has WebGL2."""

import pytest

pytestmark = pytest.mark.browser


def test_chromium_has_webgl2_with_float_render_targets(page, static_server):
    page.goto(f"{static_server.url}/package.json")
    info = page.evaluate(
        """() => {
            const gl = new OffscreenCanvas(1, 1).getContext("webgl2");
            if (!gl) return null;
            return {
                floatTargets: gl.getExtension("EXT_color_buffer_float") !== null,
                maxTexture: gl.getParameter(gl.MAX_TEXTURE_SIZE),
            };
        }"""
    )
    assert info is not None, "headless Chromium returned no WebGL2 context"
    assert info["floatTargets"], "EXT_color_buffer_float missing: float32 render targets unavailable"
    assert info["maxTexture"] >= 4096
