"""What a recipe may use: the experiment's sources, a translator and the seed.

Recipes are pure functions of (params, context): they never read files or call models
themselves, which keeps them deterministic and easy to test with in-memory sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xinstruct.data.schema import Example


@dataclass
class RecipeContext:
    seed: int
    sources: Callable[[str], list[Example]]
    translator: Callable[[list[Example], str], list[Example]]

    def source(self, name: str) -> list[Example]:
        return self.sources(name)

    def translate(self, examples: list[Example], lang: str) -> list[Example]:
        return self.translator(examples, lang)
