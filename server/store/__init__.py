"""Model storage: shipped models (read-only) and saved versions (append-only), on disk.

    models_dir/<name>/model.json + shards        version "shipped", never written
    store_dir/<name>/v<N>/model.json + shards     versions "v1", "v2", ... plus meta.json

Modules, in the order data flows: names (what is allowed), bounded_json and upload (an
upload checked before a weight is decoded), topology (base vs upload), meta (meta.json),
integrity (links, paths, sizes, digests), catalog (listing), writer (staging, rename,
delete, leftovers), model_store (all of it, under a quota).
"""

from server.store.catalog import ModelVersion
from server.store.errors import (ConflictError, InvalidNameError, InvalidUploadError,
                                 NotFoundError, QuotaExceededError, StoreError,
                                 UploadTooLargeError)
from server.store.model_store import ModelStore
from server.store.names import NAME_RULE, SHIPPED, check_name
from server.store.upload import IncomingFile

__all__ = ["ConflictError", "IncomingFile", "InvalidNameError", "InvalidUploadError",
           "ModelStore", "ModelVersion", "NAME_RULE", "NotFoundError", "QuotaExceededError",
           "SHIPPED", "StoreError", "UploadTooLargeError", "check_name"]
