"""What a recipe may use: the experiment's sources, a translator and the seed.

Recipes are pure functions of (params, context): they never read files or call models
themselves, which keeps them deterministic and easy to test with in-memory sources and a
stub translator. Whatever a recipe needs that the sources lack (translations of source S
into language L) it asks the translator for; the translation stage caches the answers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from xinstruct.data.parallel import Pair
from xinstruct.data.schema import Example
from xinstruct.data.sources import TaskRecord
from xinstruct.recipes import phrases


class Translator(Protocol):
    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]: ...

    def translate_examples(self, examples: list[Example], tgt: str) -> list[Example]: ...


@dataclass
class RecipeContext:
    seed: int
    sources: Callable[[str], list[Example]]
    translator: Translator
    pairs: Callable[[str, str, str], list[Pair]] = field(default=lambda name, src, tgt: [])
    records: Callable[[str], list[TaskRecord]] = field(default=lambda name: [])
    notes: dict = field(default_factory=dict)  # recipe facts for the manifest (e.g. held-out clusters)

    def rng(self, recipe: str) -> random.Random:
        """A generator seeded by (experiment seed, recipe): independent of other recipes' draws."""
        return random.Random(f"{self.seed}:{recipe}")

    def source(self, name: str) -> list[Example]:
        return self.sources(name)

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
