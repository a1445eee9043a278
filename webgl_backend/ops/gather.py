"""Gathering a batch of images from a data set that lives on the GPU as uint8.

The data set is an RGBA8 texture of shape (images, pixels) (four pixels a texel, so the
texel order is our float tensors' one) that the sampler returns as value / 255: MNIST
is uploaded once as its bytes, normalised by the texture unit, and a step uploads only
the batch's row indices (`rows`, a float tensor of shape (n,)).
"""

from __future__ import annotations

import math

from webgl_backend.codegen import DEFAULT_MAX_TEXTURE_SIZE, Program, build_program
from webgl_backend.errors import ShapeError

_ALIGNED = "  write_output(data_texel(source + within));"
_PER_LANE = """  int pixel = within / ${C4};
  int lane0 = (within - pixel * ${C4}) * 4;
  int first = pixel * ${CHANNELS} + lane0;
  vec4 v = vec4(0.0);
  for (int j = 0; j < 4; ++j) {
    if (lane0 + j < ${CHANNELS}) {
      int e = first + j;
      v[j] = data_texel(source + e / 4)[e % 4];
    }
  }
  write_output(v);"""


def gather_images(out_shape: tuple[int, ...], data_shape: tuple[int, int], *,
                  max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE,
                  widths: dict[str, int] | None = None) -> Program:
    """out (n, *sample) = data[rows[i]] per sample; inputs data (images, pixels), rows (n,)."""
    out_shape = tuple(int(d) for d in out_shape)
    images, pixels = (int(d) for d in data_shape)
    if len(out_shape) < 2 or any(d < 1 for d in out_shape):
        raise ShapeError(f"gather_images: the output must be (n, ...) with positive sizes, "
                         f"got {out_shape}")
    if math.prod(out_shape[1:]) != pixels or pixels % 4:
        raise ShapeError(f"gather_images: a sample of {out_shape[1:]} must hold the data "
                         f"set's {pixels} pixels per image (a multiple of 4)")
    channels = out_shape[-1]
    c4 = -(-channels // 4)
    sample_texels = math.prod(out_shape[1:-1]) * c4
    body = _ALIGNED if channels % 4 == 0 else _PER_LANE.replace(
        "${C4}", str(c4)).replace("${CHANNELS}", str(channels))
    values = {"HELPERS": "", "ROW_TEXELS": pixels // 4, "CHANNELS": channels,
              "SAMPLE_TEXELS": sample_texels, "BODY": body}
    return build_program("gather_images", "gather_images",
                         {"data": (images, pixels), "rows": (out_shape[0],)}, out_shape,
                         values, max_texture_size, widths)
