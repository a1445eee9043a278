"""The four-rows-per-fragment Dense (multiple render targets + a gather) in plain CPython:
when it is chosen, what it bakes in, and how GLContext draws a program with several
outputs over FakeGL (one framebuffer per group, draw buffers set once, freed with it)."""

from __future__ import annotations

from array import array

import pytest

from model_export.architectures import mlp_layers
from model_export.export import build_files
from model_export.model import Sequential
from webgl_backend.context import GLContext
from webgl_backend.errors import ShapeError
from webgl_backend.fake_gl import FakeGL
from webgl_backend.ops.dense import (
    ROWS4_MIN_ROWS,
    dense_forward,
    dense_forward_programs,
    dense_forward_rows4,
    dense_gather_rows4,
)
from webgl_backend.runtime import Runtime
from webgl_backend.tensor import GpuTensor


@pytest.mark.parametrize("x_shape, activation, names", [
    ((ROWS4_MIN_ROWS - 1, 13), "relu", ["dense_forward"]),
    ((ROWS4_MIN_ROWS, 13), "relu", ["dense_forward_rows4", "dense_gather_rows4"]),
    ((256, 784), "linear", ["dense_forward_rows4", "dense_gather_rows4"]),
    ((256, 13), "softmax", ["dense_forward"]),                       # softmax stays fused
], ids=["7-rows", "8-rows", "256-rows", "softmax"])
def test_many_rows_take_the_four_row_path(x_shape, activation, names):
    programs = dense_forward_programs(x_shape, (x_shape[-1], 10), (10,), activation=activation)
    assert [p.name for p in programs] == names


def test_rows4_bakes_groups_walkers_and_four_outputs():
    program = dense_forward_rows4((9, 13), (13, 10), (10,), activation="relu")
    assert program.outputs == 4
    assert program.inputs == ("x", "kernel", "bias")
    assert program.output_shape == (3, 10)                  # ceil(9 / 4) groups of rows
    source = program.source
    assert "layout(location = 0) out vec4 shadernet_out;" in source
    assert "layout(location = 3) out vec4 shadernet_out3;" in source
    assert "int start = min(row, 9 - 1) * 4;" in source      # rows past 9 are clamped
    assert "for (int k4 = 0; k4 < 3; ++k4)" in source        # 12 of 13 inputs by fours
    assert "acc3 += xs.x * kernel_at(12, u4);" in source      # the 13th, for every row
    assert "t3.x += 1;" in source and "if (t3.x ==" not in source
    assert "shadernet_out3 = activate(acc3);" in source


def test_rows4_reading_a_view_whose_rows_straddle_texture_rows_wraps_every_walker():
    source = dense_forward_rows4((9, 13), (13, 2), widths={"x": 6}).source
    assert "if (t0.x == 6) { t0.x = 0; t0.y += 1; }" in source
    assert "if (t3.x == 6) { t3.x = 0; t3.y += 1; }" in source


def test_gather_reads_row_r_from_part_r_mod_4():
    program = dense_gather_rows4((9, 10))
    assert program.inputs == ("part0", "part1", "part2", "part3")
    assert program.output_shape == (9, 10) and program.outputs == 1
    assert "int g = row / 4;" in program.source


def test_rows4_shape_errors_match_dense_forward():
    with pytest.raises(ShapeError, match=r"dense: x has 784 features but kernel expects k=748"):
        dense_forward_rows4((8, 784), (748, 10))
    with pytest.raises(ShapeError, match=r"dense: bias must have shape \(10,\)"):
        dense_forward_rows4((8, 13), (13, 10), (9,))
    with pytest.raises(ShapeError, match=r"dense_gather_rows4: y must be \(n, ..., units\)"):
        dense_gather_rows4((10,))


def test_a_multiple_output_draw_binds_one_framebuffer_with_every_target():
    gl = FakeGL()
    context = GLContext(gl)
    x = GpuTensor.from_host(context, (9, 13), array("f", range(9 * 13)))
    kernel = GpuTensor.from_host(context, (13, 10), array("f", range(130)))
    program = dense_forward_rows4(x.shape, kernel.shape)
    parts = [GpuTensor.empty(context, program.output_shape) for _ in range(4)]
    compiled = context.compile(program)
    context.draw(compiled, [x.texture, kernel.texture], [p.texture for p in parts])
    assert gl.count("drawBuffers") == 1
    assert [args for name, args in gl.calls if name == "drawBuffers"] == [
        ((gl.COLOR_ATTACHMENT0, gl.COLOR_ATTACHMENT0 + 1, gl.COLOR_ATTACHMENT0 + 2,
          gl.COLOR_ATTACHMENT0 + 3),)]
    attached = [args[3] for name, args in gl.calls if name == "framebufferTexture2D"]
    assert attached == [p.texture.handle for p in parts]
    assert context.live_framebuffers == 1
    calls = len(gl.calls)
    context.draw(compiled, [x.texture, kernel.texture], [p.texture for p in parts])
    assert [name for name, _ in gl.calls[calls:]] == ["drawArrays"]   # all state kept
    with pytest.raises(ValueError, match=r"dense_forward_rows4: program writes 4 outputs; "
                                         r"draw was given 2"):
        context.draw(compiled, [x.texture, kernel.texture], [p.texture for p in parts[:2]])
    with pytest.raises(ValueError, match=r"program writes 4 outputs; draw was given one"):
        context.draw(compiled, [x.texture, kernel.texture], parts[0].texture)
    for tensor in [x, kernel, *parts]:
        tensor.dispose()
    assert context.live_framebuffers == 0 and context.live_textures == 0


def test_mlp_predict_uses_three_draws_from_8_images_and_frees_everything():
    gl = FakeGL()
    runtime = Runtime(gl)
    model = runtime.load_model(*build_files(Sequential(mlp_layers(), (28, 28, 1), seed=0)))
    model.predict(array("f", bytes(4 * 784)), 1)
    assert model.last_forward["draws"] == 2
    model.predict(array("f", bytes(4 * 784 * 8)), 8)
    assert model.last_forward["draws"] == 3
    assert [s["program"] for s in model.generated_sources(8)] == [
        "dense_forward_rows4", "dense_gather_rows4", "dense_forward"]
    runtime.dispose()
    assert runtime.context.live_textures == 0 and runtime.context.live_framebuffers == 0


def test_single_row_program_is_unchanged_by_the_four_row_path():
    assert dense_forward_programs((3, 13), (13, 10), (10,)) == [
        dense_forward((3, 13), (13, 10), (10,))]
