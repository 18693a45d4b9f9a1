"""The lab's languages: English plus four synthetic ones with seeded lexicons.

Why synthetic: a tiny model trained from scratch must really *know* several languages for
cross-lingual transfer to mean anything. Each lab language differs from English in the ways
that matter to the field: its own vocabulary (a bijective lexicon for every English word the
world uses), word order (verb-final, verb-first) and script (Cyrillic), so that tokenization
and language identity differ for real. Tags are ISO 639 private-use codes (qaa..qtz).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Clause orders: S = subject words, V = verb words, O = object/complement words.
ORDERS = {"SVO": "SVO", "SOV": "SOV", "VSO": "VSO"}

_CYRILLIC = {
    "a": "а",
    "b": "б",
    "d": "д",
    "e": "е",
    "g": "г",
    "i": "и",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "z": "з",
    "f": "ф",
    "h": "х",
    "j": "й",
    "c": "ц",
    "y": "ы",
    "w": "ў",
    "x": "кс",
    "q": "к",
}


@dataclass(frozen=True)
class LabLanguage:
    """One lab language: how its words sound, how its clauses are ordered, how it is written."""

    tag: str
    name: str
    order: str  # one of ORDERS
    consonants: str
    vowels: str
    cyrillic: bool = False

    def script(self, latin: str) -> str:
        """Write a Latin-letter form in this language's script."""
        if not self.cyrillic:
            return latin
        return "".join(_CYRILLIC.get(ch, ch) for ch in latin)


ENGLISH = LabLanguage("en", "English", "SVO", "", "")

# The four synthetic languages. Sound inventories are disjoint enough that words rarely look
# alike; uniqueness across all lexicons is enforced anyway when they are generated.
LAB_LANGUAGES: tuple[LabLanguage, ...] = (
    LabLanguage("qaa", "Alvish", "SVO", "bdklmnrst", "aeiou"),
    LabLanguage("qab", "Bortic", "SOV", "gkmnprvz", "aeou"),
    LabLanguage("qac", "Cyrillan", "SVO", "bdgklmnprstvz", "aeiouy", cyrillic=True),
    LabLanguage("qad", "Dunese", "VSO", "dfhjlnstw", "aeiu"),
)

ALL_LANGUAGES: tuple[LabLanguage, ...] = (ENGLISH, *LAB_LANGUAGES)


def language(tag: str) -> LabLanguage:
    for lang in ALL_LANGUAGES:
        if lang.tag == tag:
            return lang
    raise KeyError(f"unknown lab language {tag!r}; lab languages are {[x.tag for x in ALL_LANGUAGES]}")


def _make_word(rng: random.Random, lang: LabLanguage) -> str:
    n_syllables = rng.choice((1, 2, 2, 3))
    parts = []
    for _ in range(n_syllables):
        parts.append(rng.choice(lang.consonants) + rng.choice(lang.vowels))
    if rng.random() < 0.4:
        parts.append(rng.choice(lang.consonants))
    return "".join(parts)


def build_lexicons(english_words: list[str], seed: int, reserved: set[str]) -> dict[str, dict[str, str]]:
    """Map every English word to one unique word per lab language (bijective, disjoint).

    `reserved` holds forms no lexicon may use (English words, person names), so that a word
    identifies its language. Deterministic in (english_words, seed).
    """
    lexicons: dict[str, dict[str, str]] = {"en": {w: w for w in english_words}}
    taken = set(reserved) | set(english_words)
    for lang in LAB_LANGUAGES:
        rng = random.Random(f"{seed}:lexicon:{lang.tag}")
        lexicon = {}
        for word in sorted(english_words):
            form = _make_word(rng, lang)
            while form in taken or len(form) < 3:
                form = _make_word(rng, lang)
            taken.add(form)
            lexicon[word] = lang.script(form)
        lexicons[lang.tag] = lexicon
    return lexicons
