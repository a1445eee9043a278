"""`shadernet serve`: arguments and the runner (registered by model_export/cli.py).

    shadernet serve [--host 127.0.0.1] [--port 8000] [--models DIR] [--store DIR]
                    [--allowed-host NAME]... [--allow-origin ORIGIN]... [--cors-origin ORIGIN]...
                    [--upload-token T]
                    [--read-only] [--writes-per-minute N] [--max-store-mb MB]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from server.settings import LOCAL_HOSTS, UPLOAD_TOKEN_ENV, Settings

# Idle keep-alive connections are closed after this many seconds (uvicorn's own setting);
# a connection that sends nothing at all is closed after the same time (server/connections.py).
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024
MAX_CONNECTIONS = 512
GRACEFUL_SHUTDOWN_SECONDS = 10


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
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a host name the server answers to besides "
                             f"{', '.join(LOCAL_HOSTS)} (repeatable; '*' for any: only "
                             "behind a proxy that checks Host)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="another origin whose pages may save and delete, e.g. "
                             "https://class.example.org (repeatable)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="another origin whose pages may import the public module and "
                             "load the runtime and models from here (CORS reads), e.g. "
                             "https://my-site.example (repeatable; '*' for any)")
    parser.add_argument("--upload-token", default=os.environ.get(UPLOAD_TOKEN_ENV),
                        metavar="TOKEN",
                        help="require 'Authorization: Bearer TOKEN' to save or delete "
                             f"(default: ${UPLOAD_TOKEN_ENV}, else none)")
    parser.add_argument("--read-only", action="store_true",
                        help="refuse every save and delete")
    parser.add_argument("--writes-per-minute", type=int, default=defaults.writes_per_minute,
                        metavar="N", help="saves and deletes per client per minute "
                                          "(default: %(default)s)")
    parser.add_argument("--max-store-mb", type=float, default=None, metavar="MB",
                        help="quota for all saved versions together, in MiB (default: none)")


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings from the arguments; ValueError with the option named if one is out of range."""
    for option, value in (("--max-upload-mb", args.max_upload_mb),
                          ("--max-store-mb", args.max_store_mb),
                          ("--writes-per-minute", args.writes_per_minute)):
        if value is not None and value <= 0:
            raise ValueError(f"{option} must be positive, got {value:g}")
    if args.upload_token is not None and not args.upload_token.strip():
        raise ValueError(f"--upload-token (or ${UPLOAD_TOKEN_ENV}) is empty")
    bound = [] if args.host in ("0.0.0.0", "::", "") else [args.host]
    return Settings(models_dir=args.models, store_dir=args.store,
                    max_upload_bytes=int(args.max_upload_mb * 2**20),
                    allowed_hosts=(*LOCAL_HOSTS, *bound, *args.allowed_host),
                    allowed_origins=tuple(args.allow_origin),
                    cors_origins=tuple(args.cors_origin),
                    upload_token=args.upload_token, read_only=args.read_only,
                    writes_per_minute=args.writes_per_minute,
                    max_store_bytes=None if args.max_store_mb is None
                    else int(args.max_store_mb * 2**20))


def run_serve(args: argparse.Namespace) -> int:
    """Build the app (wheel, asset checks) and run it with uvicorn until interrupted."""
    import uvicorn

    from server.assets import AssetsError
    from server.main import create_app

    try:
        settings = settings_of(args)
    except ValueError as error:
        print(f"shadernet serve: error: {error}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings)
    except AssetsError as error:
        print(f"shadernet serve: error: {error}", file=sys.stderr)
        return 2
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"shadernet: serving http://{shown_host}:{args.port}/ (models {settings.models_dir}, "
          f"saved versions {settings.store_dir}; Ctrl+C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", **uvicorn_options())
    return 0


def uvicorn_options() -> dict:
    """Connection limits for a server on a network (uvicorn's own settings)."""
    from server.connections import IdleClosingH11Protocol

    return {"http": IdleClosingH11Protocol, "timeout_keep_alive": KEEP_ALIVE_SECONDS,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
            "limit_concurrency": MAX_CONNECTIONS, "server_header": False,
            "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m server.cli")
    add_serve_arguments(parser)
    sys.exit(run_serve(parser.parse_args()))
