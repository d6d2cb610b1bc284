"""Value-chain screens (being built)."""

from . import bp  # noqa: F401
