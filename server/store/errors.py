"""The store's refusals: one sentence each, for the person uploading; the routes map them to
HTTP statuses (server/errors.py). Nothing in the store knows HTTP."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the storage errors; the message is one sentence for the person uploading."""


class InvalidNameError(StoreError, ValueError):
    """A model name or version in a URL breaks the naming rule."""


class NotFoundError(StoreError, LookupError):
    """No such model, version or file."""


class ConflictError(StoreError):
    """The request contradicts what is stored: a shipped name, a different topology."""


class UploadTooLargeError(StoreError, ValueError):
    """The upload is over the size limit (or alone over the store's quota)."""


class InvalidUploadError(StoreError, ValueError):
    """The uploaded files are not a valid model, or not one compatible with its base."""


class QuotaExceededError(StoreError):
    """The store is full: the upload fits the size limit but not the space left."""
