"""One dispatcher round (issue 13): what the embedded worker does on every round and
``flask jobs dispatcher`` does every couple of seconds next to the Redis workers.

1. :func:`.reaper.reap`: running jobs whose worker died go back on the outbox (or fail);
2. :func:`.outbox.redispatch_lost`: claimed rows whose RQ job went missing are released;
3. :func:`.outbox.dispatch`: the due rows are handed to RQ.
"""

from __future__ import annotations

import datetime as dt
import logging

from .outbox import dispatch, redispatch_lost
from .reaper import reap

logger = logging.getLogger(__name__)


def run_round(now: dt.datetime | None = None) -> int:
    """One round; returns how many jobs RQ took."""
    reap(now)
    put_back = redispatch_lost(now=now)
    if put_back:
        logger.warning("Put %d job(s) back on the outbox: their RQ job was missing", put_back)
    return dispatch(now=now)
