"""Build one arm's training mixture: run its recipe, write `mixture.jsonl` and `manifest.json`.

Deterministic: same experiment and seed -> byte-identical `mixture.jsonl`. The manifest holds
counts per language, language pair, source, task cluster and recipe; character and token length
statistics; the recipe's notes (e.g. held-out task clusters); the contamination check against
the experiment's evaluation sets; and the sha256 of every file written.
"""

from __future__ import annotations

import gc
import random
import statistics
from collections import Counter
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from xinstruct.artifacts import sha256_file
from xinstruct.config import Experiment
from xinstruct.data.contamination import overlap
from xinstruct.data.schema import Example, write_jsonl
from xinstruct.data.sources import load_pairs, load_records, load_source
from xinstruct.data.translate import make_translator
from xinstruct.errors import DataError
from xinstruct.progress import warn
from xinstruct.recipes import RECIPES
from xinstruct.recipes.context import RecipeContext

MIXTURE = "mixture.jsonl"
TOKEN_STATS_SAMPLE = 10_000  # token statistics on a seeded sample beyond this many examples


def recipe_context(exp: Experiment, cache_dir: Path) -> RecipeContext:
    """The context a recipe of this experiment sees: its sources (loaded once), translator, seed."""
    sources = exp.data.sources

    @cache
    def source(name: str) -> list[Example]:
        return load_source(name, sources[name], exp.world_config(), exp.languages)

    @cache
    def pairs(name: str, src: str, tgt: str):
        return load_pairs(name, sources[name], src, tgt)

    @cache
    def records(name: str):
        return load_records(name, sources[name])

    translator = make_translator(exp.data.translator, cache_dir, exp.world_config())
    return RecipeContext(seed=exp.seed, sources=source, translator=translator, pairs=pairs, records=records)


@contextmanager
def gc_paused():
    """Millions of small acyclic objects make the cyclic GC rescan the heap over and over (~25% of a build)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_mixture(exp: Experiment, arm: str, out_dir: Path, cache_dir: Path) -> dict:
    """Write the arm's mixture into `out_dir`; return the manifest fields (counts, stats, hashes)."""
    with gc_paused():
        return _build_mixture(exp, arm, out_dir, cache_dir)


def _build_mixture(exp: Experiment, arm: str, out_dir: Path, cache_dir: Path) -> dict:
    arm_cfg = exp.arms[arm]
    ctx = recipe_context(exp, cache_dir)
    examples = RECIPES[arm_cfg.recipe].build(arm_cfg.recipe_params(), ctx)
    contamination = check_contamination(exp, examples)
    if exp.data.decontaminate and contamination["flagged"]:
        flagged = set(contamination.pop("positions"))
        examples = [ex for i, ex in enumerate(examples) if i not in flagged]
        contamination["dropped"] = len(flagged)
    contamination.pop("positions", None)
    if not examples:
        raise DataError(f"arm {arm!r}: recipe {arm_cfg.recipe!r} produced no examples")
    path = out_dir / MIXTURE
    write_jsonl(examples, path)
    return {
        "recipe": arm_cfg.recipe,
        "params": arm_cfg.params,
        "n_examples": len(examples),
        "counts": counts(examples, arm_cfg.recipe),
        "notes": ctx.notes,
        "lengths": length_stats(examples, exp),
        "contamination": contamination,
        "mixture_sha256": sha256_file(path),
        "files": {p.name: sha256_file(p) for p in sorted(out_dir.iterdir()) if p.is_file()},
    }


def counts(examples: list[Example], recipe: str) -> dict:
    return {
        "language": dict(sorted(Counter(ex.lang for ex in examples).items())),
        "language_pair": dict(sorted(Counter(f"{ex.lang}->{ex.response_lang}" for ex in examples).items())),
        "source": dict(sorted(Counter(ex.source for ex in examples).items())),
        "task": dict(sorted(Counter(ex.task or "-" for ex in examples).items())),
        "recipe": {recipe: len(examples)},
        "translated": sum(ex.translated_from is not None for ex in examples),
    }


def _summary(values: list[int]) -> dict:
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 1),
        "median": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
        "total": sum(ordered),
    }


def length_stats(examples: list[Example], exp: Experiment) -> dict:
    """Characters for every example; tokens (the experiment's tokenizer) for all, or a seeded sample."""
    stats = {
        "prompt_chars": _summary([len(ex.prompt) for ex in examples]),
        "response_chars": _summary([len(ex.response) for ex in examples]),
    }
    tokenizer = _tokenizer(exp)
    if tokenizer is None:
        stats["tokens"] = None
        return stats
    sample = examples
    if len(examples) > TOKEN_STATS_SAMPLE:
        sample = random.Random(f"{exp.seed}:token-stats").sample(examples, TOKEN_STATS_SAMPLE)
    for side in ("prompt", "response"):
        ids = tokenizer([getattr(ex, side) for ex in sample], add_special_tokens=False)["input_ids"]
        stats[f"{side}_tokens"] = _summary([len(x) for x in ids])
    stats["tokens"] = {"tokenizer": exp.model, "examples": len(sample)}
    return stats


def _tokenizer(exp: Experiment):
    if exp.model == "lab":
        from xinstruct.lab.pretrain import train_tokenizer
        from xinstruct.lab.world import World

        return train_tokenizer(World(exp.world_config()), exp.lab.pretrain.vocab_size)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(exp.model, trust_remote_code=exp.train.trust_remote_code)
    except Exception as e:  # offline, gated, or not a model: the statistics just go without tokens
        warn(f"token statistics skipped: cannot load the tokenizer of {exp.model!r} ({type(e).__name__})")
        return None


def eval_sets(exp: Experiment) -> dict[str, list[str]]:
    """{"task/lang": prompts} of the experiment's evaluation sets."""
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import task_prompts

    return {
        f"{name}/{lang}": task_prompts(TASKS[name], exp, lang)
        for name in exp.eval.tasks
        for lang in exp.eval_languages
        if not TASKS[name].languages or lang in TASKS[name].languages  # as the evaluation skips them
    }


def check_contamination(exp: Experiment, examples: list[Example]) -> dict:
    sets = eval_sets(exp)
    flagged, per_set = overlap(examples, sets, exp.data.contamination_ngram)
    return {
        "ngram": exp.data.contamination_ngram,
        "checked_against": sorted(sets),
        "flagged": len(flagged),
        "per_eval_set": {k: v for k, v in sorted(per_set.items()) if v},
        "positions": sorted(flagged),
    }
