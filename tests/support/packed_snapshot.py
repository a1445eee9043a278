"""An independent Python writer and reader of the packed snapshot form (static/
snapshot_pages.js), to test the page's packer and the server's checks against."""

from __future__ import annotations

import struct

PAGE_BYTES = 4096
PACKED_MAGIC = b"SNZ1"


def pack_pages(data: bytes) -> bytes:
    """`data` with its all-zero PAGE_BYTES pages left out."""
    runs: list[list[int]] = []
    for start in range(0, len(data), PAGE_BYTES):
        page = data[start:start + PAGE_BYTES]
        if page.count(0) != len(page):
            if runs and runs[-1][0] + runs[-1][1] == start:
                runs[-1][1] += len(page)
            else:
                runs.append([start, len(page)])
    header = PACKED_MAGIC + struct.pack("<II", len(data), len(runs))
    table = b"".join(struct.pack("<II", offset, length) for offset, length in runs)
    return header + table + b"".join(data[o:o + n] for o, n in runs)


def unpack_pages(packed: bytes) -> bytes:
    assert packed[:4] == PACKED_MAGIC
    length, count = struct.unpack_from("<II", packed, 4)
    out = bytearray(length)
    at = 12 + 8 * count
    for i in range(count):
        offset, size = struct.unpack_from("<II", packed, 12 + 8 * i)
        out[offset:offset + size] = packed[at:at + size]
        at += size
    assert at == len(packed)
    return bytes(out)
