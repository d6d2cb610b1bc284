"""Shared service-layer helpers."""

from __future__ import annotations


class ValidationError(Exception):
    """Raised by services when input breaks a rule; ``errors`` maps field → Dutch message.

    Views put the messages on the form; the API returns them as a 422 JSON error.
    """

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"_": errors}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class ConflictError(Exception):
    """The record changed since the user loaded it (optimistic concurrency)."""
