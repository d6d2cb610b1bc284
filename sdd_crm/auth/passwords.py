"""The password policy, in one place (ASVS 2.1): used by the admin screens, the CLI and the
self-service password change alike.

A password is refused when it is

* shorter than :data:`MIN_PASSWORD_LENGTH` characters;
* on a list of common or breached passwords (zxcvbn's own list of passwords from leaks, and a
  list of common Dutch password words kept in ``dutch_password_words.txt``), also with only
  digits and symbols added before or after (``Welkom2026!``), or the user's own name that way;
* too easy to guess: a zxcvbn score below :data:`MIN_SCORE`, with the Dutch words as an extra
  dictionary and the user's own name and e-mail address as "user inputs".

The messages are Dutch (``gettext``) and say why; zxcvbn's English hint is translated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..exceptions import ValidationError

MIN_PASSWORD_LENGTH = 12
# zxcvbn's scale: 0–2 are guessed within 10^8 tries (an offline attack takes seconds); 3 needs
# 10^8–10^10, 4 more than that.
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows quadratically); the first 72 characters decide.
ZXCVBN_MAX_LENGTH = 72
DUTCH_WORDS_FILE = Path(__file__).with_name("dutch_password_words.txt")
DUTCH_DICTIONARY = "dutch"
# Digits, punctuation and spaces before or after the word ("Welkom2026!!" → "welkom").
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")

# zxcvbn's warnings and suggestions (English, from zxcvbn/feedback.py) in Dutch.
_WARNINGS = {
    "Straight rows of keys are easy to guess.":
        _l("Toetsen die naast elkaar liggen zijn makkelijk te raden."),
    "Short keyboard patterns are easy to guess.":
        _l("Korte patronen op het toetsenbord zijn makkelijk te raden."),
    'Repeats like "aaa" are easy to guess.':
        _l("Herhalingen zoals \"aaa\" zijn makkelijk te raden."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".':
        _l("Herhalingen zoals \"abcabcabc\" zijn nauwelijks moeilijker te raden dan \"abc\"."),
    'Sequences like "abc" or "6543" are easy to guess.':
        _l("Reeksen zoals \"abc\" of \"6543\" zijn makkelijk te raden."),
    "Recent years are easy to guess.": _l("Recente jaartallen zijn makkelijk te raden."),
    "Dates are often easy to guess.": _l("Datums zijn vaak makkelijk te raden."),
    "This is a top-10 common password.": _l("Dit is een veelgebruikt wachtwoord."),
    "This is a top-100 common password.": _l("Dit is een veelgebruikt wachtwoord."),
    "This is a very common password.": _l("Dit is een veelgebruikt wachtwoord."),
    "This is similar to a commonly used password.":
        _l("Het lijkt op een veelgebruikt wachtwoord."),
    "A word by itself is easy to guess.": _l("Eén los woord is makkelijk te raden."),
    "Names and surnames by themselves are easy to guess.":
        _l("Namen zijn makkelijk te raden."),
    "Common names and surnames are easy to guess.":
        _l("Veelvoorkomende namen zijn makkelijk te raden."),
}
_SUGGESTIONS = {
    "Capitalization doesn't help very much.":
        _l("Een hoofdletter aan het begin maakt het nauwelijks sterker."),
    "All-uppercase is almost as easy to guess as all-lowercase.":
        _l("Alleen hoofdletters is bijna even makkelijk te raden als alleen kleine letters."),
    "Reversed words aren't much harder to guess.":
        _l("Woorden achterstevoren zijn nauwelijks moeilijker te raden."),
    "Predictable substitutions like '@' instead of 'a' don't help very much.":
        _l("Voorspelbare vervangingen zoals '@' voor 'a' maken het nauwelijks sterker."),
    "Avoid repeated words and characters.": _l("Vermijd herhaalde woorden en tekens."),
    "Avoid sequences.": _l("Vermijd reeksen."),
    "Avoid recent years.": _l("Vermijd recente jaartallen."),
    "Avoid dates and years that are associated with you.":
        _l("Vermijd datums en jaartallen die met u te maken hebben."),
    "Use a longer keyboard pattern with more turns.":
        _l("Vermijd patronen op het toetsenbord."),
}
_DICTIONARY_WARNINGS = {
    DUTCH_DICTIONARY: _l("Veelgebruikte Nederlandse woorden en plaatsnamen zijn makkelijk te raden."),
    "user_inputs": _l("Uw eigen naam of e-mailadres is makkelijk te raden."),
}


@cache
def dutch_words() -> tuple[str, ...]:
    """The Dutch password words, most common first (no duplicates)."""
    words: dict[str, None] = {}
    for line in DUTCH_WORDS_FILE.read_text(encoding="utf-8").splitlines():
        word = line.strip().lower()
        if word and not word.startswith("#"):
            words.setdefault(word, None)
    return tuple(words)


@cache
def _zxcvbn():
    """zxcvbn, with the Dutch words added as a ranked dictionary (once per process)."""
    from zxcvbn import zxcvbn
    from zxcvbn.matching import RANKED_DICTIONARIES, add_frequency_lists

    if DUTCH_DICTIONARY not in RANKED_DICTIONARIES:
        add_frequency_lists({DUTCH_DICTIONARY: list(dutch_words())})
    return zxcvbn


@cache
def common_passwords() -> frozenset[str]:
    """Passwords from breaches (zxcvbn's list) and the Dutch words, lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(dutch_words())


def user_inputs_for(*values: str | None) -> list[str]:
    """Words a guesser knows about the user: their name and e-mail address, and their parts."""
    words: list[str] = []
    for value in values:
        text = (value or "").strip().lower()
        if not text:
            continue
        parts = [part for part in re.split(r"[^\w]+", text) if part]
        words.append(text)
        words.append("".join(parts))  # "Jan de Vries" → "jandevries"
        words.extend(part for part in parts if len(part) >= 3)
    return list(dict.fromkeys(words))


def password_problem(password: str, *, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is refused (a Dutch message), or None when it is strong enough."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Het wachtwoord moet minstens %(n)s tekens lang zijn.", n=MIN_PASSWORD_LENGTH)
    user_inputs = list(user_inputs)
    folded = password.lower()
    if folded in common_passwords():
        return _("Dit wachtwoord komt voor op lijsten van veelgebruikte of gelekte wachtwoorden. "
                 "Kies een ander wachtwoord.")
    core = _DECORATION.sub("", folded)
    if core and (core in common_passwords() or core in user_inputs):
        return _("Dit wachtwoord is een veelgebruikt woord of uw eigen naam met alleen cijfers of "
                 "tekens ervoor of erachter; zulke wachtwoorden worden als eerste geprobeerd. "
                 "Kies bijvoorbeeld een zin van vier of meer ongewone woorden.")
    result = _zxcvbn()(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs)
    if result["score"] >= MIN_SCORE:
        return None
    return " ".join(str(part) for part in (
        _("Dit wachtwoord is te makkelijk te raden."),
        *_hints(result),
        _("Kies bijvoorbeeld een zin van vier of meer ongewone woorden."),
    ) if part)


def _hints(result: dict) -> list:
    feedback = result.get("feedback") or {}
    hints = []
    warning = _WARNINGS.get(feedback.get("warning") or "")
    if warning is None:
        names = {m.get("dictionary_name") for m in result.get("sequence", ())
                 if m.get("pattern") == "dictionary"}
        warning = next((_DICTIONARY_WARNINGS[n] for n in ("user_inputs", DUTCH_DICTIONARY)
                        if n in names), None)
    if warning is not None:
        hints.append(warning)
    suggestion = next((_SUGGESTIONS[s] for s in feedback.get("suggestions", ())
                       if s in _SUGGESTIONS), None)
    if suggestion is not None:
        hints.append(suggestion)
    return hints


def check_password(password: str, *, user_inputs: Iterable[str] = (),
                   field: str = "password") -> None:
    """Raise ``ValidationError({field: message})`` when the policy refuses ``password``."""
    problem = password_problem(password, user_inputs=user_inputs)
    if problem:
        raise ValidationError({field: problem})
