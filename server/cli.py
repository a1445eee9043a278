"""`shadernet serve`: arguments and the runner (registered by model_export/cli.py).

    shadernet serve [--host 127.0.0.1] [--port 8000] [--models DIR] [--store DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.settings import Settings


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--models", type=Path, default=defaults.models_dir, metavar="DIR",
                        help="shipped models, read-only: DIR/<name>/model.json + shards "
                             "(default: the repository's models/)")
    parser.add_argument("--store", type=Path, default=defaults.store_dir, metavar="DIR",
                        help="saved versions: DIR/<name>/v<N>/ (default: the repository's "
                             ".cache/saved-models/)")
    parser.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_bytes / 2**20,
                        help="largest upload accepted, in MiB (default: %(default)g)")


def run_serve(args: argparse.Namespace) -> int:
    """Build the app (wheel, asset checks) and run it with uvicorn until interrupted."""
    import uvicorn

    from server.assets import AssetsError
    from server.main import create_app

    if args.max_upload_mb <= 0:
        print("shadernet serve: error: --max-upload-mb must be positive, "
              f"got {args.max_upload_mb:g}", file=sys.stderr)
        return 2
    settings = Settings(models_dir=args.models, store_dir=args.store,
                        max_upload_bytes=int(args.max_upload_mb * 2**20))
    try:
        app = create_app(settings)
    except AssetsError as error:
        print(f"shadernet serve: error: {error}", file=sys.stderr)
        return 2
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"shadernet: serving http://{shown_host}:{args.port}/ (models {settings.models_dir}, "
          f"saved versions {settings.store_dir}; Ctrl+C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m server.cli")
    add_serve_arguments(parser)
    sys.exit(run_serve(parser.parse_args()))
