"""One organisation's history in one chronological list (``timeline.queries``).

It stands on every feature whose records it lists (interactions, tasks, leads, participations,
changes), so it lives above them rather than inside one of them.
"""
