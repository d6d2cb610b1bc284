"""Refusals for what is stored that the ``data_dependent`` rule of ``api/__init__.py`` cannot see.

A schema says everything a request can be judged by on its own (a 422); a service's refusal of
``data_dependent`` fields the request sent is a 409. Two more kinds of refusal depend only on the
stored data: one of the whole request (a cluster that still has value chains, a link or role that
exists already), and one of a field the request may leave out but the stored record requires
(a chain with stages needs a ``stage_id``). Both are answered 409 with the service's messages.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..exceptions import ValidationError
from .errors import ApiError


@contextmanager
def refused_as_conflict(*fields: str):
    """Answer 409 when a service refuses the whole request (``"_"``) or only ``fields``."""
    try:
        yield
    except ValidationError as e:
        if not set(e.errors) <= {"_", *fields}:
            raise
        message = e.errors.get("_") or next(iter(e.errors.values()))
        named = {k: v for k, v in e.errors.items() if k != "_"}
        raise ApiError(409, str(message), **({"fields": named} if named else {})) from e
