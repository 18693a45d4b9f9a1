"""What a recipe may use: the experiment's sources, a translator and the seed.

Recipes are pure functions of (params, context): they never read files or call models
themselves, which keeps them deterministic and easy to test with in-memory sources and a
stub translator. Whatever a recipe needs that the sources lack (translations of source S
into language L) it asks the translator for; the translation stage caches the answers.

One sample per source: every recipe draws the examples of source S as a *prefix* of one seeded
ordering of S (`ordered`), seeded by the experiment seed and the source's name, never by the
recipe. So arms that differ only in what the experiment varies use the same examples:
english_only(N) and pinch(N, n translated) share N - n English examples and pinch translates
english_only's own; monolingual(800) lies inside monolingual(3000); parallel-corpus lines nest
the same way (`ordered_pairs`). The context counts what each recipe drew (`drawn`) for the
manifest.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from xinstruct.data.parallel import Pair
from xinstruct.data.schema import Example
from xinstruct.data.sources import TaskRecord
from xinstruct.errors import DataError
from xinstruct.languages import same_language
from xinstruct.recipes import phrases

T = TypeVar("T")


class Translator(Protocol):
    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]: ...

    def translate_examples(self, examples: list[Example], tgt: str) -> list[Example]: ...


def ordering_seed(seed: int, source: str) -> str:
    """The seed of source `source`'s one ordering (written into manifests)."""
    return f"{seed}:source:{source}"


def seeded_order(items: Sequence[T], seed: int, source: str) -> list[T]:
    """`items` in the one seeded order of `source` (a permutation seeded by experiment seed and source name)."""
    out = list(items)
    random.Random(ordering_seed(seed, source)).shuffle(out)
    return out


def _line_rank(key: str, line: int) -> bytes:
    """A seeded random rank per line number: one order of an aligned corpus's lines in every language,
    which also holds when a language lacks some lines."""
    return hashlib.sha256(f"{key}:{line}".encode()).digest()


@dataclass
class RecipeContext:
    seed: int
    sources: Callable[[str], list[Example]]
    translator: Translator
    pairs: Callable[[str, str, str], list[Pair]] = field(default=lambda name, src, tgt: [])
    records: Callable[[str], list[TaskRecord]] = field(default=lambda name: [])
    notes: dict = field(default_factory=dict)  # recipe facts for the manifest (e.g. held-out clusters)
    drawn: dict[str, int] = field(default_factory=dict)  # source (or "parallel[pivot-x]") -> prefix length drawn
    loaded: dict = field(default_factory=dict)  # what the loaders read (shared with other arms' contexts)

    def rng(self, recipe: str) -> random.Random:
        """A generator seeded by (experiment seed, recipe), for choices other than which examples to draw
        (phrasings, template choice, mixture order): draws come from `draw`/`draw_records`/`draw_pairs`."""
        return random.Random(f"{self.seed}:{recipe}")

    def source(self, name: str) -> list[Example]:
        return self.sources(name)

    def _count(self, key: str, n: int) -> None:
        self.drawn[key] = max(self.drawn.get(key, 0), n)

    def draw(self, name: str, n: int | None, *, language: str | None = None) -> list[Example]:
        """The first n examples of source `name`'s seeded ordering (all of them when n is None); with
        `language`, the first n of that ordering's examples in that language (a multilingual source)."""
        pool = seeded_order(self.sources(name), self.seed, name)
        if language is not None:
            pool = [ex for ex in pool if same_language(ex.lang, language)]
        n = len(pool) if n is None else n
        if n > len(pool):
            what = "examples" if language is None else f"examples in {language}"
            raise DataError(f"source {name!r} has {len(pool)} {what}; the recipe asks for n_examples={n}")
        self._count(name if language is None else f"{name}[{language}]", n)
        return pool[:n]

    def draw_records(self, name: str, n: int) -> list[TaskRecord]:
        """The first n records of source `name`'s seeded ordering."""
        rows = seeded_order(self.records(name), self.seed, name)
        if n > len(rows):
            raise DataError(f"source {name!r} has {len(rows)} records; {n} are needed")
        self._count(name, n)
        return rows[:n]

    def draw_pairs(self, name: str, src: str, tgt: str, n: int) -> list[Pair]:
        """The first n sentence pairs (src, tgt) of parallel source `name`, lines in one seeded order.

        The order is over line ids, so it is the same for every language pair of an aligned corpus:
        en-de and en-zh demonstrations of one arm come from the same lines, and arms nest."""
        key = ordering_seed(self.seed, name)
        ordered = sorted(self.pairs(name, src, tgt), key=lambda p: (_line_rank(key, p.line), p.id))
        if n > len(ordered):
            raise DataError(f"parallel source {name!r} has {len(ordered)} {src}-{tgt} pairs; {n} are needed")
        self._count(f"{name}[{src}-{tgt}]", n)
        return ordered[:n]

    def translate(self, examples: list[Example], lang: str) -> list[Example]:
        """Whole examples (instruction and response) into `lang`; ids become `<id>-<lang>`."""
        return self.translator.translate_examples(examples, lang) if examples else []

    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return self.translator.translate_texts(texts, src, tgt) if texts and src != tgt else list(texts)

    def phrasings(self, table: dict[str, tuple[str, ...]], phrase_lang: str, about: str) -> list[str]:
        """Built-in phrasings in `phrase_lang` about language `about`, else the English ones translated."""
        if phrases.has_phrasings(table, phrase_lang):
            return phrases.phrasings(table, phrase_lang, about)
        return self.translate_texts(phrases.phrasings(table, "en", about), "en", phrase_lang)
