"""Build one arm's training mixture: run its recipe (or each of its parts), write `mixture.jsonl`
and `manifest.json`.

Deterministic: same experiment and seed -> byte-identical `mixture.jsonl`. The manifest holds
counts per language, language pair, source, task cluster and part; character and token length
statistics; the recipe's notes (e.g. held-out task clusters); the sampling (each source's
ordering seed, how much of it the arm drew, and its overlap with every other arm drawing the same
source); the contamination check against the experiment's evaluation sets; and the sha256 of
every file written.

Parallel-corpus lines that an evaluation task scores (NTREX as demonstrations and as the `ntrex`
task) are never used for demonstrations: the recipe context drops them before drawing.
"""

from __future__ import annotations

import gc
import random
import statistics
from collections import Counter
from contextlib import contextmanager
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


def recipe_context(
    exp: Experiment, cache_dir: Path | None, translator=None, loaded: dict | None = None
) -> RecipeContext:
    """The context a recipe of this experiment sees: its sources (loaded once), translator, seed.

    `translator=None` makes the experiment's translator (which needs `cache_dir`). `loaded`: a dict shared by
    several contexts of the same experiment (the other arms' dry runs, a plan's arms), so that each source is
    read once, not once per arm."""
    sources = exp.data.sources
    notes: dict = {}
    memo = {} if loaded is None else loaded

    def once(key: tuple, make):
        if key not in memo:
            memo[key] = make()
        return memo[key]

    def source(name: str) -> list[Example]:
        return once(("source", name), lambda: load_source(name, sources[name], exp.world_config(), exp.languages))

    def evaluated_texts() -> frozenset[str]:
        return once(("eval",), lambda: frozenset(t.strip() for texts in eval_sets(exp).values() for t in texts))

    def pairs(name: str, src: str, tgt: str):
        def make():
            loaded_pairs = load_pairs(name, sources[name], src, tgt, exp.world_config())
            scored = evaluated_texts()
            kept = [p for p in loaded_pairs if p.source not in scored and p.target not in scored]
            return kept, len(loaded_pairs) - len(kept)

        kept, excluded = once(("pairs", name, src, tgt), make)
        if excluded:
            notes.setdefault("parallel_lines_excluded_as_eval_data", {})[f"{name}[{src}-{tgt}]"] = excluded
        return kept

    def records(name: str):
        return once(("records", name), lambda: load_records(name, sources[name]))

    if translator is None:
        translator = make_translator(exp.data.translator, cache_dir, exp.world_config())
    ctx = RecipeContext(seed=exp.seed, sources=source, translator=translator, pairs=pairs, records=records, notes=notes)
    ctx.loaded = memo
    return ctx


def build_examples(exp: Experiment, arm: str, ctx: RecipeContext) -> tuple[list[Example], dict[str, int]]:
    """The arm's examples: its recipe's, or the union of its parts' (ids unique); and the count per part."""
    examples: list[Example] = []
    per_part: dict[str, int] = {}
    owner: dict[str, str] = {}
    for name, part in exp.arms[arm].named_parts():
        built = RECIPES[part.recipe].build(part.recipe_params(), ctx)
        for ex in built:
            if ex.id in owner:
                raise DataError(
                    f"arm {arm!r}: parts {owner[ex.id]!r} and {name!r} both produce example {ex.id!r} "
                    "(the same source examples in the same form): draw them once, or translate one part"
                )
            owner[ex.id] = name
        examples += built
        per_part[name] = len(built)
    return examples, per_part


class _Identity:
    """A stand-in translation backend (texts unchanged, ids as the real translators name them): enough to
    know which examples every arm draws, without translating anything."""

    name = "identity"
    cacheable = False

    def check_pair(self, src: str, tgt: str) -> None:
        pass

    def cache_model(self, src: str, tgt: str) -> str:
        return "identity"

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        return list(texts)


def sampling(exp: Experiment, arm: str, drawn: dict[str, int], examples: list[Example], loaded: dict) -> dict:
    """Each drawn source's ordering seed and prefix length, and per other arm drawing a same source: how
    many examples of each source both drew (`drawn`) and how many identical examples (same id, same
    form: untranslated, or translated into the same language) both train on (`identical`).

    The other arms are built with an identity translator (nothing is translated, ids are exact)."""
    from xinstruct.data.translate import Translator
    from xinstruct.recipes.context import ordering_seed

    overlap: dict[str, dict] = {}
    mine = Counter(ex.id for ex in examples)
    for other in exp.arms:
        if other == arm:
            continue
        ctx = recipe_context(exp, None, Translator(_Identity(), None, progress=False), loaded)
        theirs, _ = build_examples(exp, other, ctx)
        shared = sorted(key for key in ctx.drawn if key in drawn)
        if shared:
            overlap[other] = {
                "drawn": {key: min(drawn[key], ctx.drawn[key]) for key in shared},
                "identical": sum((mine & Counter(ex.id for ex in theirs)).values()),
            }
    return {
        "orderings": {key: ordering_seed(exp.seed, key.split("[")[0]) for key in sorted(drawn)},
        "drawn": dict(sorted(drawn.items())),
        "overlap": overlap,
    }


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
    examples, per_part = build_examples(exp, arm, ctx)
    contamination = check_contamination(exp, examples)
    if exp.data.decontaminate and contamination["flagged"]:
        flagged = set(contamination.pop("positions"))
        examples = [ex for i, ex in enumerate(examples) if i not in flagged]
        contamination["dropped"] = len(flagged)
    contamination.pop("positions", None)
    if not examples:
        raise DataError(f"arm {arm!r}: its recipes produced no examples")
    path = out_dir / MIXTURE
    write_jsonl(examples, path)
    return {
        **arm_cfg.describe(),
        "n_examples": len(examples),
        "counts": {**counts(examples), "part": per_part},
        "notes": ctx.notes,
        "sampling": sampling(exp, arm, ctx.drawn, examples, ctx.loaded),
        "lengths": length_stats(examples, exp),
        "contamination": contamination,
        "mixture_sha256": sha256_file(path),
        "files": {p.name: sha256_file(p) for p in sorted(out_dir.iterdir()) if p.is_file() and p.name != "log.txt"},
    }


def counts(examples: list[Example]) -> dict:
    return {
        "language": dict(sorted(Counter(ex.lang for ex in examples).items())),
        "language_pair": dict(sorted(Counter(f"{ex.lang}->{ex.response_lang}" for ex in examples).items())),
        "source": dict(sorted(Counter(ex.source for ex in examples).items())),
        "task": dict(sorted(Counter(ex.task or "-" for ex in examples).items())),
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

        return train_tokenizer(World(exp.world_config()), exp.lab.pretrain)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(exp.model, trust_remote_code=exp.train.trust_remote_code)
    except Exception as e:  # offline, gated, or not a model: the statistics just go without tokens
        warn(f"token statistics skipped: cannot load the tokenizer of {exp.model!r} ({type(e).__name__})")
        return None


def eval_sets(exp: Experiment) -> dict[str, list[str]]:
    """{"task/lang": prompts} of the experiment's evaluation sets; a records task (`records:SOURCE@LANG`, one per
    template language) in its data's language, its prompts the records' texts without the template's words; an
    `lm_eval:NAME` task in its mapped languages, its prompts lm-eval's doc_to_text of the documents it scores."""
    from xinstruct.evaluate import lm_eval_tasks
    from xinstruct.evaluate.tasks import TASKS, evaluation_languages
    from xinstruct.evaluate.tasks.common import TaskContext, task_prompts
    from xinstruct.evaluate.tasks.records import expand_tasks, records_task

    ctx = TaskContext(record_sources=exp.data.sources, record_templates=exp.eval.templates)
    sets = {}
    for name in expand_tasks(exp.eval, exp.data.sources):
        if lm_eval_tasks.is_lm_eval(name):  # checked like the others: lm-eval reads the documents here
            by_lang = lm_eval_tasks.task_prompts(name, exp.eval.lm_eval, exp.eval_languages, exp.eval.limit)
            sets |= {f"{name}/{lang}": texts for lang, texts in by_lang.items()}
            continue
        task = TASKS[name] if name in TASKS else records_task(name, ctx)
        languages = evaluation_languages(task, exp.eval_languages, TaskContext(data_dir=exp.eval.data_dir))[0]
        for lang in languages:  # as the evaluation skips them
            sets[f"{name}/{lang}"] = task_prompts(task, exp, lang)
    return sets


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
