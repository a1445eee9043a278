"""GLContext over FakeGL: creation checks, program cache, compile errors, draw state, textures."""

from __future__ import annotations

from array import array

import pytest

from webgl_backend.context import GLContext
from webgl_backend.errors import ShaderCompileError, ShapeError, WebGL2UnavailableError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.ops.dense import dense_forward
from webgl_backend.tensor import GpuTensor, pack_last_axis, unpack_last_axis


def test_no_context_raises_webgl2_unavailable_with_a_sentence():
    with pytest.raises(WebGL2UnavailableError, match=r"WebGL2 is not available: .*returned null"):
        GLContext(None)


def test_a_webgl1_like_object_is_refused():
    class WebGL1:
        def getExtension(self, name):
            return None

    with pytest.raises(WebGL2UnavailableError, match="not a WebGL2RenderingContext"):
        GLContext(WebGL1())


def test_missing_float_render_targets_are_refused():
    with pytest.raises(WebGL2UnavailableError, match="EXT_color_buffer_float is not"):
        GLContext(FakeGL(extensions=()))


def test_second_identical_program_compiles_nothing():
    gl = FakeGL()
    context = GLContext(gl)
    program = dense_forward((2, 5), (5, 3), (3,), activation="relu")
    first = context.compile(program)
    compiles = gl.count("compileShader")
    again = context.compile(dense_forward((2, 5), (5, 3), (3,), activation="relu"))
    assert again is first
    assert gl.count("compileShader") == compiles
    assert context.compiles == 1
    # Uniform locations are looked up once, at link time.
    assert gl.count("getUniformLocation") == 3
    context.compile(dense_forward((3, 5), (5, 3), (3,), activation="relu"))
    assert context.compiles == 2


def test_compile_error_carries_op_name_log_and_numbered_lines():
    program = dense_forward((2, 5), (5, 3))
    failing_line = 40
    log = f"ERROR: 0:{failing_line}: 'foo' : undeclared identifier"
    gl = FakeGL(compile_error=lambda source: log)
    context = GLContext(gl)
    with pytest.raises(ShaderCompileError) as caught:
        context.compile(program)
    message = str(caught.value)
    assert message.startswith("dense_forward: fragment shader failed to compile")
    assert "info log: ERROR: 0:40: 'foo' : undeclared identifier" in message
    source_line = program.source.splitlines()[failing_line - 1]
    assert f">  40 | {source_line}" in message
    assert "   36 | " in message and "   44 | " in message
    assert "   35 | " not in message


def test_draw_skips_state_that_is_already_set():
    gl = FakeGL()
    context = GLContext(gl)
    x = GpuTensor.from_host(context, (2, 5), array("f", range(10)))
    kernel = GpuTensor.from_host(context, (5, 3), array("f", range(15)))
    y = GpuTensor.empty(context, (2, 3))
    compiled = context.compile(dense_forward(x.shape, kernel.shape))
    context.draw(compiled, [x.texture, kernel.texture], y.texture)
    calls_before = len(gl.calls)
    counted_before = context.gl_calls
    context.draw(compiled, [x.texture, kernel.texture], y.texture)
    assert [name for name, _ in gl.calls[calls_before:]] == ["drawArrays"]
    assert context.gl_calls - counted_before == 1
    assert context.draws == 2


def test_gl_call_counter_matches_the_calls_made_after_creation():
    gl = FakeGL()
    context = GLContext(gl)
    start_calls, start_count = len(gl.calls), context.gl_calls
    x = GpuTensor.from_host(context, (2, 5), array("f", range(10)))
    kernel = GpuTensor.from_host(context, (5, 3), array("f", range(15)))
    y = GpuTensor.empty(context, (2, 3))
    context.draw(context.compile(dense_forward(x.shape, kernel.shape)),
                 [x.texture, kernel.texture], y.texture)
    y.read()
    for tensor in (x, kernel, y):
        tensor.dispose()
    assert context.gl_calls - start_count == len(gl.calls) - start_calls


def test_upload_and_read_round_trip_and_texture_counts():
    context = GLContext(FakeGL())
    values = array("f", [float(i) / 7 for i in range(37 * 3)])
    tensor = GpuTensor.from_host(context, (37, 3), values)
    assert (tensor.texture.width, tensor.texture.height) == (1, 37)
    assert context.live_textures == 1
    assert tensor.read() == values  # packed to 4 lanes and unpacked again
    view = tensor.reshape((37, 3))
    assert view.texture is tensor.texture
    view.dispose()  # a view never frees the texture
    assert context.live_textures == 1
    tensor.dispose()
    tensor.dispose()  # twice is harmless
    assert context.live_textures == 0


def test_reshape_is_a_view_only_when_the_packing_is_unchanged():
    context = GLContext(FakeGL())
    tensor = GpuTensor.empty(context, (2, 3, 3, 8))
    assert tensor.reshape((2, 72)).texture is tensor.texture
    odd = GpuTensor.empty(context, (2, 3, 3, 1))
    with pytest.raises(ShapeError, match=r"cannot view \(2, 3, 3, 1\) .* without a copy"):
        odd.reshape((2, 9))


def test_upload_size_mismatch_is_an_error():
    context = GLContext(FakeGL())
    tensor = GpuTensor.empty(context, (2, 4))
    with pytest.raises(ValueError, match=r"upload: expected 8 float32 values \(32 bytes\), got 20"):
        tensor.upload(array("f", range(5)))


@pytest.mark.parametrize("channels", [1, 3, 4, 5, 8])
def test_pack_and_unpack_the_last_axis_by_four(channels):
    values = array("f", [float(i) for i in range(6 * channels)])
    packed = pack_last_axis(memoryview(values), (2, 3, channels))
    lanes = 4 * -(-channels // 4)
    assert len(packed) == 6 * lanes
    assert list(packed[:channels]) == list(values[:channels])
    assert all(v == 0.0 for v in packed[channels:lanes])  # padding lanes are zero
    assert unpack_last_axis(array("f", packed), (2, 3, channels)) == values
