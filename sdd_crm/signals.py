"""Domain signals: how one feature reacts to another's change without importing it.

A feature announces what happened (``organisation_changed.send(org_id, reason=...)``); features
above it connect receivers when the app is created. Imports thereby point one way: down to this
module, never sideways into the feature that reacts. blinker is what Flask's own signals use.
"""

from __future__ import annotations

from blinker import Namespace

# Receivers run inside the sender's transaction: they flush, never commit (the request, CLI
# command or job that started it commits once, or rolls everything back).

_signals = Namespace()

# An organisation's data that other features derive from changed (created, edited, deleted,
# restored, merged, imported). Sender: the organisation id (or None for many). kwargs: reason.
organisation_changed = _signals.signal("organisation-changed")

# Organisations were written in bulk past the ORM (the import's set-based UPDATE), so no flush
# saw them. Sender: None. kwargs: ids (the organisations written). Features that keep figures
# derived from organisations (the programme counts) bring those up to date.
organisations_written = _signals.signal("organisations-written")

# The supply network changed (roles, supply links, chains, clusters). kwargs: reason.
network_changed = _signals.signal("network-changed")

# Two organisations are being merged (inside the merge's transaction). Sender: the survivor.
# kwargs: merged (the record merged into it), result (MergeResult: count what you move in
# result.moved[<key>], explain clashes in result.notes), actor (who merges: the soft-deleter of a
# duplicate). Each feature moves its own records.
organisations_merged = _signals.signal("organisations-merged")

# The reference data was loaded (``flask seed reference``; idempotent). kwargs: counts (a dict:
# add how many records of each kind you loaded). Features that keep reference data of their
# own (clusters, programmes) load it from ``reference.services``' lists.
reference_seeded = _signals.signal("reference-seeded")
