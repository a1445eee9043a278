"""Where the server finds its files and how much it accepts: one frozen `Settings`.

Defaults are paths inside the repository (this package lives in it, installed editable),
so `shadernet serve` works from any working directory. Tests build their own `Settings`
on temporary folders and hand it to `create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAX_UPLOAD_BYTES = 32 * 1024 * 1024
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_WRITES_PER_MINUTE = 30
UPLOAD_TOKEN_ENV = "SHADERNET_UPLOAD_TOKEN"


@dataclass(frozen=True)
class Settings:
    """Server configuration.

    models_dir: shipped models, read-only, `<name>/model.json + shards`.
    store_dir: saved versions, `<name>/v<N>/` (created if missing).
    cache_dir: build outputs made at start-up (the runtime wheel).
    node_modules_dir: npm packages installed by `make setup` (Pyodide, TF.js).
    static_dir: the page's static files, served at /static.
    bundle_dir: where they are bundled for the page (server/page_bundle.py; content-
        addressed, shared by servers); None: the page loads them one by one.
    max_upload_bytes: the largest request body accepted, multipart framing included.
    default_model: the model the page loads first.
    allowed_hosts: Host header names served (any port); "*" serves any (DNS rebinding!).
    allowed_origins: origins besides the server's own whose pages may write (save, delete).
    cors_origins: origins whose pages may read what this server serves (GET/HEAD with
        CORS: the public module, its worker, Pyodide, the runtime, models); "*" for any.
        None by default: a page elsewhere reading the server's models through a
        visitor's browser is the owner's choice to make, not a default.
    upload_token: when set, writes need `Authorization: Bearer <token>`.
    read_only: refuse every write.
    writes_per_minute: writes one client (IP) may make per minute, in bursts up to it.
    max_store_bytes: quota for all saved versions together; None for no quota.
    """

    models_dir: Path = REPO_ROOT / "models"
    store_dir: Path = REPO_ROOT / ".cache" / "saved-models"
    cache_dir: Path = REPO_ROOT / ".cache" / "server"
    node_modules_dir: Path = REPO_ROOT / "node_modules"
    static_dir: Path = REPO_ROOT / "static"
    bundle_dir: Path | None = REPO_ROOT / ".cache" / "bundle"
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    default_model: str = "default"
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    allowed_origins: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    upload_token: str | None = None
    read_only: bool = False
    writes_per_minute: int = DEFAULT_WRITES_PER_MINUTE
    max_store_bytes: int | None = None

    def __post_init__(self) -> None:
        for key in ("models_dir", "store_dir", "cache_dir", "node_modules_dir", "static_dir"):
            object.__setattr__(self, key, Path(getattr(self, key)).resolve())
        if self.bundle_dir is not None:
            object.__setattr__(self, "bundle_dir", Path(self.bundle_dir).resolve())
        if isinstance(self.max_upload_bytes, bool) or not isinstance(self.max_upload_bytes, int) \
                or self.max_upload_bytes <= 0:
            raise ValueError("Invalid value for setting `max_upload_bytes`. Expected a positive "
                             "number of bytes. Received "
                             f"max_upload_bytes={self.max_upload_bytes!r}.")
        for key in ("writes_per_minute", "max_store_bytes"):
            value = getattr(self, key)
            if value is not None and (type(value) is not int or value <= 0):
                raise ValueError(f"Invalid value for setting `{key}`. Expected a positive "
                                 f"integer. Received {key}={value!r}.")
        if self.upload_token is not None and not self.upload_token.strip():
            raise ValueError("Invalid value for setting `upload_token`. Expected a non-empty "
                             "token or None. Received an empty string.")
        object.__setattr__(self, "allowed_hosts",
                           tuple(host.lower().strip("[]") for host in self.allowed_hosts))
        object.__setattr__(self, "allowed_origins",
                           tuple(origin.lower().rstrip("/") for origin in self.allowed_origins))
        object.__setattr__(self, "cors_origins",
                           tuple(_cors_origin(origin) for origin in self.cors_origins))


def _cors_origin(origin: str) -> str:
    """An origin as browsers send it (scheme://host[:port], lower case), or "*"."""
    value = str(origin).strip().lower().rstrip("/")
    scheme, _, rest = value.partition("://")
    if value == "*" or (scheme in ("http", "https") and rest and "/" not in rest):
        return value
    raise ValueError("Invalid value for setting `cors_origins`. Expected origins such as "
                     f"'https://example.org' or 'http://localhost:8080', or '*'. Received {origin!r}.")
