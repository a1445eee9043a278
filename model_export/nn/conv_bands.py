"""A one-channel convolution as one GEMM over bands of whole input rows.

For cin == 1, im2col holds kh*kw floats per output pixel (an 11.6 MB copy for the 6x6
first layer of the MNIST CNN at batch 100), read by a GEMM only `cout` columns wide, which
BLAS runs at the speed of memory. Here output row r of an image reads the band of kh padded
input rows from row sh*r (kh*Wp floats, contiguous in the padded input, copied once per
output row: a fifth of im2col), and one GEMM with the banded (Toeplitz) kernel matrix
(kh*Wp + 1, ow*cout) yields the whole output row, already in NHWC order, bias included (a
ones column). The band does Wp/kw times the multiply-adds of im2col (its zeros), on a square
GEMM that BLAS runs near its peak: 1.6x faster forward, 1.4x for the kernel gradient on
that layer. `bands_apply` keeps it to shapes where that factor is small.

The kernel gradient is the same GEMM transposed (bands^T @ dy), summed along the band's
diagonals. The input gradient does not use the bands (`conv._input_gradient`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from model_export.nn.geometry import Geometry2D

# Most multiply-adds a band may spend per useful one (Wp / kw). 33 / 6 = 5.5 for the CNN's
# first layer; a 3x3 kernel on a 28-wide image (9.7) is left to im2col.
MAX_BAND_WASTE = 6.0


class Bands(NamedTuple):
    """The forward's cache for the kernel gradient: (n*oh, kh*Wp + 1) rows, ones last."""

    matrix: np.ndarray
    padded_width: int


def bands_apply(kernel_shape: tuple, g: Geometry2D, width: int) -> bool:
    """True where the band GEMM is the cheaper forward: one input channel, a small Wp / kw."""
    kw, cin = kernel_shape[1], kernel_shape[2]
    padded_width = width + g.pad_left + g.pad_right
    return cin == 1 and padded_width <= MAX_BAND_WASTE * kw


def _band_positions(kw: int, ow: int, sw: int) -> tuple[np.ndarray, np.ndarray]:
    """(band column sw*ox + j, output column ox), each (ow, kw): where tap j of ox sits."""
    ox = np.arange(ow)[:, None]
    return sw * ox + np.arange(kw)[None, :], np.broadcast_to(ox, (ow, kw))


def band_kernel(kernel: np.ndarray, bias: np.ndarray | None, padded_width: int, ow: int,
                sw: int) -> np.ndarray:
    """The (kh*Wp + 1, ow*cout) GEMM operand: [i*Wp + sw*ox + j, ox*cout + c] = kernel[i, j, 0, c].

    Its last row is the bias, tiled over the output columns.
    """
    kh, kw, _, cout = kernel.shape
    band = np.zeros((kh * padded_width + 1, ow, cout), kernel.dtype)
    taps = band[:-1].reshape(kh, padded_width, ow, cout)
    columns, outputs = _band_positions(kw, ow, sw)
    taps[:, columns, outputs, :] = kernel[:, None, :, 0, :]
    if bias is not None:
        band[-1] = bias.astype(kernel.dtype, copy=False)
    return band.reshape(kh * padded_width + 1, ow * cout)


def band_forward(padded: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, strides,
                 g: Geometry2D) -> tuple[np.ndarray, Bands]:
    """y (n, oh, ow, cout) of the padded one-channel input (n, Hp, Wp), and the bands."""
    n, _, padded_width = padded.shape
    kh, _, _, cout = kernel.shape
    sh, sw = strides
    oh, ow = g.oh, g.ow
    sn, s_row, s_col = padded.strides
    windows = as_strided(padded, shape=(n, oh, kh, padded_width),
                         strides=(sn, sh * s_row, s_row, s_col), writeable=False)
    matrix = np.empty((n * oh, kh * padded_width + 1), padded.dtype)
    np.copyto(matrix[:, :-1].reshape(n, oh, kh, padded_width), windows)
    matrix[:, -1] = 1
    y = matrix @ band_kernel(kernel, bias, padded_width, ow, sw)
    return y.reshape(n, oh, ow, cout), Bands(matrix, padded_width)


def band_kernel_gradient(bands: Bands, dy: np.ndarray, kernel_shape: tuple,
                         strides) -> tuple[np.ndarray, np.ndarray]:
    """(dkernel like kernel_shape, dbias (cout,)) from the forward's bands and dy (n, oh, ow, cout)."""
    kh, kw, _, cout = kernel_shape
    n, oh, ow, _ = dy.shape
    band_grad = bands.matrix.T @ dy.reshape(n * oh, ow * cout)
    dbias = band_grad[-1].reshape(ow, cout).sum(axis=0)
    taps = band_grad[:-1].reshape(kh, bands.padded_width, ow, cout)
    columns, outputs = _band_positions(kw, ow, strides[1])
    dkernel = taps[:, columns, outputs, :].sum(axis=1)  # (kh, kw, cout): sum over ox
    return dkernel.reshape(kh, kw, 1, cout), dbias
