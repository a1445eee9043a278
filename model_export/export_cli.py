"""`shadernet export CHECKPOINT_OR_DIR OUT_DIR [--shard-size BYTES] [--quantize ...]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model_export.atomic_folder import ExportError
from model_export.export import DEFAULT_SHARD_SIZE, QUANTIZATIONS, export_model

def _shard_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of bytes, got {text}")
    return value


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """`shadernet export CHECKPOINT_OR_DIR OUT_DIR [--shard-size BYTES] [--quantize ...]`."""
    parser.add_argument("source", type=Path, metavar="CHECKPOINT_OR_DIR",
                        help="a checkpoint.npz from `shadernet train`, or an exported folder")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR",
                        help="folder to write model.json and group1-shard*.bin into")
    parser.add_argument("--shard-size", type=_shard_size, default=DEFAULT_SHARD_SIZE,
                        metavar="BYTES", dest="shard_size",
                        help=f"largest shard file in bytes (default {DEFAULT_SHARD_SIZE})")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default=None,
                        help="store weights as float16 or affine uint8 (default float32)")


def run_export(args: argparse.Namespace) -> int:
    """Load args.source, export it to args.out_dir; errors are one line on stderr, exit 2."""
    try:
        model = load_source(Path(args.source))
        out_dir = export_model(model, args.out_dir, args.shard_size, args.quantize)
    except (ValueError, OSError) as error:
        message = str(error).removeprefix("export: ")
        print(f"shadernet export: error: {message}", file=sys.stderr)
        return 2
    files = sorted(out_dir.iterdir())
    total = sum(p.stat().st_size for p in files)
    shards = sum(1 for p in files if p.suffix == ".bin")
    print(f"wrote {out_dir}: model.json + {shards} shard{'s' * (shards != 1)}, {total:,} bytes, "
          f"weights {args.quantize or 'float32'}")
    return 0


def load_source(path: Path):
    """A Sequential from a checkpoint file or an exported folder."""
    if path.is_dir():
        from model_export.exported import load_exported
        return load_exported(path)
    if not path.exists():
        raise ExportError(f"export: {path}: no such checkpoint file or exported folder")
    from model_export.checkpoint import load_checkpoint
    return load_checkpoint(path).model
