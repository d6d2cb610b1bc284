#!/usr/bin/env python3
"""Check the English catalogue: every Dutch msgid has a reviewed English translation.

    python scripts/check_translations.py            # the .po files only
    python scripts/check_translations.py --source   # also: every string in the code is in the .po

Fails (exit 1) on an empty or fuzzy translation, a catalogue header still marked fuzzy,
placeholders that differ between msgid and msgstr, and with ``--source`` on a msgid found
in the Python sources or templates that the catalogue lacks (run ``make messages``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "sdd_crm" / "translations"
# Keep in step with the Makefile's `messages` target.
EXTRACT_ARGS = ["-F", "babel.cfg", "-k", "lazy_gettext", "-k", "_l", "-k", "N_",
                "--ignore-dirs", ".* ._ node_modules"]


def _key(msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def check_catalogue(path: Path) -> list[str]:
    problems: list[str] = []
    with path.open("rb") as fh:
        catalog = read_po(fh)
    if catalog.fuzzy:
        problems.append(f"{path}: the catalogue header is marked fuzzy (pybabel compile skips it)")
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings):
            problems.append(f"untranslated: {_key(message.id)!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy (needs review): {_key(message.id)!r}")
        for error in message.check(catalog):
            problems.append(f"{_key(message.id)!r}: {error}")
    return problems


def extracted_msgids() -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", *EXTRACT_ARGS,
             "-o", str(pot), "."],
            cwd=ROOT, check=True, capture_output=True,
        )
        with pot.open("rb") as fh:
            return {_key(m.id) for m in read_po(fh) if m.id}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="store_true",
                        help="also require every msgid in the sources to be in each catalogue")
    args = parser.parse_args(argv)

    catalogues = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    if not catalogues:
        print(f"no catalogues under {TRANSLATIONS}", file=sys.stderr)
        return 1
    wanted = extracted_msgids() if args.source else set()
    failed = False
    for path in catalogues:
        problems = check_catalogue(path)
        if wanted:
            with path.open("rb") as fh:
                present = {_key(m.id) for m in read_po(fh) if m.id}
            problems += [f"not in the catalogue (run `make messages`): {m!r}"
                         for m in sorted(wanted - present)]
        lang = path.parent.parent.name
        if problems:
            failed = True
            print(f"{lang}: {len(problems)} problem(s)", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
        else:
            print(f"{lang}: every message translated")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
