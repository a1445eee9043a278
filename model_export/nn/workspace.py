"""Scratch arrays kept from one training step to the next, per thread.

A fresh multi-megabyte array costs a page fault per 4 KB on first touch (glibc hands big
blocks back to the kernel on free), and a zero-filled one a pass of writes. Callers ask for
a buffer by purpose and shape and get the same array every step; what it held is stale.
Only for arrays that never leave the function that asked for them.
"""

from __future__ import annotations

import threading

import numpy as np

_MAX_KEPT = 64  # enough for every layer of a model at two batch sizes; then start afresh
_local = threading.local()


def _kept() -> dict:
    if not hasattr(_local, "arrays"):
        _local.arrays = {}
    return _local.arrays


def scratch(purpose: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of shape and dtype, the same one on every call with these arguments."""
    kept = _kept()
    key = (purpose, tuple(shape), np.dtype(dtype))
    array = kept.get(key)
    if array is None:
        if len(kept) >= _MAX_KEPT:
            kept.clear()
        array = kept[key] = np.empty(shape, dtype)
    return array


def zero_bordered(purpose: str, shape: tuple, dtype, interior: tuple) -> np.ndarray:
    """Like `scratch`, but zero outside `interior` (a tuple of slices) on every call.

    Zeroed once when made; callers write only inside `interior`, so the border stays zero.
    """
    key_purpose = f"{purpose} {interior}"
    kept = _kept()
    fresh = (key_purpose, tuple(shape), np.dtype(dtype)) not in kept
    array = scratch(key_purpose, shape, dtype)
    if fresh:
        array.fill(0)
    return array
