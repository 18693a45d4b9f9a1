"""Translators: turn examples into another language for recipes that need translations.

Issue 3 has the lab's exact translator; MT models and chat endpoints come with the data stage.
"""

from __future__ import annotations

from collections.abc import Callable

from xinstruct.config import Experiment
from xinstruct.data.schema import Example


def make_translator(exp: Experiment) -> Callable[[list[Example], str], list[Example]]:
    if exp.data.translator == "lab":
        from xinstruct.lab.corpus import translate_example
        from xinstruct.lab.world import World

        world = World(exp.world_config())
        return lambda examples, lang: [translate_example(world, ex, lang) for ex in examples]
    raise NotImplementedError(exp.data.translator)
