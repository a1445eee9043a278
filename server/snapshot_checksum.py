"""The checksum a browser checks a memory snapshot against: static/snapshot_store.js's
`checksum`, byte for byte the same here (tests/startup/test_snapshot_store.py compares
the two).

Four multiply-xor lanes over the little-endian 32-bit words, one per word of each 16
bytes, then the tail and the length: a check for damage (a cut-short download, a bad
disk), not for an attacker. The page computes it in ~6 ms where SHA-256 took ~30 ms of
its worker's start; the server computes it once per snapshot kept (~0.4 s here).
"""

from __future__ import annotations

import sys
from array import array

KIND = "lanes64"
_MASK = 0xFFFFFFFF
_PRIME = 0x01000193


def lanes64(data: bytes) -> str:
    """'lanes64:<32 hex digits>' of `data`."""
    count = len(data) // 4
    words = array("I", data[:count * 4])
    if sys.byteorder != "little":
        words.byteswap()
    a, b, c, d = 0x811C9DC5, 0x9E3779B9, 0x7F4A7C15, 0x85EBCA6B
    whole = count - count % 4
    for i in range(0, whole, 4):
        a = ((a ^ words[i]) * _PRIME) & _MASK
        b = ((b ^ words[i + 1]) * _PRIME) & _MASK
        c = ((c ^ words[i + 2]) * _PRIME) & _MASK
        d = ((d ^ words[i + 3]) * _PRIME) & _MASK
    for i in range(whole, count):
        a = ((a ^ words[i]) * _PRIME) & _MASK
    for byte in data[count * 4:]:
        b = ((b ^ byte) * _PRIME) & _MASK
    high = (((a ^ (c >> 15)) * 0x85EBCA6B) & _MASK) ^ (len(data) & _MASK)
    low = (((b ^ (d >> 13)) * 0xC2B2AE35) & _MASK) ^ ((len(data) >> 32) & _MASK)
    parts = (high, c ^ ((d * _PRIME) & _MASK), low, a ^ b)
    return f"{KIND}:" + "".join(f"{part:08x}" for part in parts)
