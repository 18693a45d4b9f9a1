"""`xinstruct plan EXP.yaml`: what an experiment will cost, without running it.

For the grid (models x seeds x arms): every arm's examples per language and part (its recipes run with a
translator that translates nothing but counts what it would be asked, and looks each segment up in the
translation cache), translation segments and characters needed and how many the cache already has,
training tokens and optimizer steps per cell (the model's tokenizer where it loads offline, else
characters / 4, and it says which), evaluation requests per task and language, and estimated GPU hours
from throughputs you pass (`--train-tokens-per-s`, `--eval-requests-per-s`).

Nothing is downloaded (hub access is switched off for the plan): a hub source, tokenizer or benchmark
that is not on this machine is reported as unknown, with the reason, and the rest is still planned.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from xinstruct.config import Experiment
from xinstruct.data.translate import Translator

# Assumed throughputs for the GPU-hour estimate, until `bench/gpu.sh` has measured them on a lent GPU:
# SFT of a ~1B model (LoRA, bf16) on one H100/H200-class GPU, and evaluation requests (log-likelihood
# rows or greedy answers of a few dozen tokens) per second. Override them with the command's options.
TRAIN_TOKENS_PER_S = 20_000.0
EVAL_REQUESTS_PER_S = 50.0


class PlanningTranslator(Translator):
    """Counts what a recipe asks to translate and what the cache already has; translates nothing."""

    def __init__(self, translator: Translator):
        super().__init__(translator.backend, translator.cache, translator.batch_size, progress=False)
        self.chars = 0
        self.chars_missing = 0

    def translate_texts(self, texts: list[str], src: str, tgt: str) -> list[str]:
        out = super().translate_texts(texts, src, tgt)
        self.chars += sum(len(t) for t in texts) if src != tgt else 0
        return out

    def _translate_misses(self, misses, src, tgt, key, shas, done) -> None:
        self.chars_missing += sum(len(s) for s in misses)
        done.update((s, s) for s in misses)  # nothing is translated, nothing is written to the cache


@dataclass
class ArmPlan:
    model: str
    seed: int
    arm: str
    examples: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    segments: int = 0
    segments_cached: int | None = None  # None: this translator has no cache (the lab's)
    chars: int = 0
    chars_to_translate: int = 0
    train_tokens: int = 0  # per epoch, each example cut at max_length
    tokens_by: str = ""
    steps: int = 0
    error: str | None = None


@dataclass
class EvalPlan:
    task: str
    language: str
    kind: str
    requests: int | None
    error: str | None = None


@dataclass
class Plan:
    arms: list[ArmPlan]
    evals: list[EvalPlan]
    train_tokens_per_s: float
    eval_requests_per_s: float

    @property
    def eval_requests(self) -> int:
        return sum(e.requests or 0 for e in self.evals)

    def gpu_hours(self, a: ArmPlan, epochs: float) -> float:
        """Training plus this cell's evaluation, at the assumed throughputs."""
        train = a.train_tokens * epochs / self.train_tokens_per_s
        return (train + self.eval_requests / self.eval_requests_per_s) / 3600


def plan(
    exp: Experiment,
    cache_dir: Path,
    train_tokens_per_s: float = TRAIN_TOKENS_PER_S,
    eval_requests_per_s: float = EVAL_REQUESTS_PER_S,
) -> Plan:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a plan never downloads
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    arms: list[ArmPlan] = []
    by_seed: dict[tuple[int, str], tuple] = {}
    loaded: dict[int, dict] = {}  # per seed (the lab's world depends on it): each source read once
    tokenizers: dict[tuple, tuple] = {}  # per model (and seed in the lab: its tokenizer is trained on the world)
    for cell in exp.cells():
        model_key = (cell.model, cell.seed) if cell.exp.model == "lab" else (cell.exp.model,)
        if model_key not in tokenizers:
            tokenizers[model_key] = _tokenizer(cell.exp)
        tokenizer, tokens_by = tokenizers[model_key]
        for arm in exp.arms:
            entry = ArmPlan(cell.model, cell.seed, arm)
            arms.append(entry)
            if (cell.seed, arm) not in by_seed:
                by_seed[(cell.seed, arm)] = _examples(cell.exp, arm, cache_dir, loaded.setdefault(cell.seed, {}))
            examples, counts, error = by_seed[(cell.seed, arm)]
            if error:
                entry.error = error
                continue
            entry.examples = len(examples)
            entry.languages = dict(sorted(Counter(ex.lang for ex in examples).items()))
            entry.parts = counts["parts"]
            entry.segments, entry.segments_cached = counts["segments"], counts["cached"]
            entry.chars, entry.chars_to_translate = counts["chars"], counts["chars_missing"]
            train = cell.exp.arm_train(arm)
            entry.train_tokens = _train_tokens(examples, tokenizer, train.max_length)
            entry.tokens_by = tokens_by
            per_step = train.batch_size * train.grad_accum
            entry.steps = math.ceil(math.ceil(len(examples) / per_step) * train.epochs)
    return Plan(arms, _evals(exp.cells()[0].exp), train_tokens_per_s, eval_requests_per_s)


def _examples(exp: Experiment, arm: str, cache_dir: Path, loaded: dict):
    from xinstruct.data.mixture import build_examples, recipe_context
    from xinstruct.data.translate import make_translator

    try:
        translator = PlanningTranslator(make_translator(exp.data.translator, cache_dir, exp.world_config(), False))
        ctx = recipe_context(exp, cache_dir, translator, loaded)
        examples, parts = build_examples(exp, arm, ctx)
    except Exception as e:  # a hub source offline, a missing file: the plan says so and goes on
        return [], {}, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    stats = translator.stats
    counts = {
        "parts": parts,
        "segments": stats.segments,
        "cached": stats.hits if translator.cache is not None else None,
        "chars": translator.chars,
        "chars_missing": translator.chars_missing,
    }
    return examples, counts, None


def _tokenizer(exp: Experiment):
    """(tokenizer or None, how tokens are counted) for the cell's model, offline only."""
    if exp.model == "lab":
        from xinstruct.lab.pretrain import train_tokenizer
        from xinstruct.lab.world import World

        return train_tokenizer(World(exp.world_config()), exp.lab.pretrain), "lab tokenizer"
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(exp.model, local_files_only=True, trust_remote_code=False)
        return tokenizer, f"{exp.model} tokenizer"
    except Exception:
        return None, "characters / 4 (tokenizer not on this machine)"


def _train_tokens(examples, tokenizer, max_length: int) -> int:
    texts = ["\n".join(m["content"] for m in ex.messages) for ex in examples]
    if tokenizer is None:
        return sum(min(math.ceil(len(t) / 4), max_length) for t in texts)
    total = 0
    for start in range(0, len(texts), 1000):
        ids = tokenizer(texts[start : start + 1000], add_special_tokens=False)["input_ids"]
        total += sum(min(len(x), max_length) for x in ids)
    return total


def _evals(exp: Experiment) -> list[EvalPlan]:
    """Requests per task and language: rows for generation, rows x choices for multiple choice."""
    from xinstruct.evaluate.tasks import TASKS, evaluation_languages
    from xinstruct.evaluate.tasks.common import TaskContext
    from xinstruct.evaluate.tasks.records import expand_tasks, records_task

    ctx = TaskContext(
        data_dir=exp.eval.data_dir,
        limit=exp.eval.limit,
        record_sources=exp.data.sources,
        record_templates=exp.eval.templates,
    )
    out = []
    for name in expand_tasks(exp.eval, exp.data.sources):
        if name not in TASKS and not name.startswith("records:"):
            out.append(EvalPlan(name, "-", "external", None, "counted by the external harness at run time"))
            continue
        try:
            task = TASKS[name] if name in TASKS else records_task(name, ctx)
            languages = evaluation_languages(task, exp.eval_languages, ctx)[0]
        except Exception as e:
            out.append(EvalPlan(name, "-", "?", None, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"))
            continue
        if not languages:
            out.append(EvalPlan(name, "-", task.kind, 0, f"has none of the languages {exp.eval_languages}"))
        for lang in languages:
            try:
                if hasattr(task, "prompts"):  # the lab's tasks read the world, not files
                    rows = task.prompts(exp, lang)
                    rows = rows[: exp.eval.limit] if exp.eval.limit else rows
                    n = len(rows)
                else:
                    rows = task.load(ctx, lang)
                    n = sum(len(r["choices"]) for r in rows) if task.kind == "multiple_choice" else len(rows)
                out.append(EvalPlan(name, lang, task.kind, n))
            except Exception as e:
                out.append(EvalPlan(name, lang, task.kind, None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"))
    return out


def plan_tables(p: Plan, exp: Experiment) -> list:
    """Rich renderables: per cell the data, translation and training; examples per language and part (first
    seed); the evaluation requests; the GPU-hour estimate."""
    from rich.table import Table

    data = Table(title="per cell: data, translation, training")
    for column in ("model", "seed", "arm", "examples", "segments", "cached", "chars to translate",
                   "train tokens/epoch", "steps", "GPU h"):  # fmt: skip
        data.add_column(column, overflow="fold", justify="left" if column in ("model", "arm") else "right")
    for a in p.arms:
        if a.error:
            data.add_row(a.model, str(a.seed), a.arm, "?", f"unknown: {a.error}")
            continue
        cached = "-" if a.segments_cached is None else f"{a.segments_cached:,}"
        epochs = exp.arm_train(a.arm).epochs
        data.add_row(a.model, str(a.seed), a.arm, f"{a.examples:,}", f"{a.segments:,}", cached,
                     f"{a.chars_to_translate:,}", f"{a.train_tokens:,}", f"{a.steps:,}",
                     f"{p.gpu_hours(a, epochs):.2f}")  # fmt: skip
    first = p.arms[0].seed if p.arms else 0
    mix = Table(title=f"examples per language and part (seed {first})")
    for column in ("arm", "by language", "by part"):
        mix.add_column(column, overflow="fold")
    for a in p.arms:
        if a.seed == first and a.model == p.arms[0].model and not a.error:
            mix.add_row(a.arm, ", ".join(f"{k} {v}" for k, v in a.languages.items()),
                        ", ".join(f"{k} {v}" for k, v in a.parts.items()))  # fmt: skip
    evals = Table(title=f"evaluation requests per cell ({p.eval_requests:,} in all)")
    for column in ("task", "language", "kind", "requests"):
        evals.add_column(column)
    for e in p.evals:
        evals.add_row(e.task, e.language, e.kind, str(e.requests) if e.error is None else f"unknown: {e.error}")
    total = sum(p.gpu_hours(a, exp.arm_train(a.arm).epochs) for a in p.arms if not a.error)
    counted = sorted({f"{a.model}: {a.tokens_by}" for a in p.arms if a.tokens_by})
    return [
        data,
        mix,
        evals,
        "tokens counted with: " + "; ".join(counted) + ". Segments: unique prose pieces sent to the translator; "
        "cached: already in the translation cache (- : a translator without a cache, the lab's).",
        f"estimated GPU hours: {total:.2f} in all, at {p.train_tokens_per_s:,.0f} training tokens/s and "
        f"{p.eval_requests_per_s:,.0f} evaluation requests/s (assumed: pass --train-tokens-per-s and "
        "--eval-requests-per-s measured on your hardware, e.g. by bench/gpu.sh)",
    ]


def plan_json(p: Plan) -> dict:
    from dataclasses import asdict

    return {
        "arms": [asdict(a) for a in p.arms],
        "evals": [asdict(e) for e in p.evals],
        "train_tokens_per_s": p.train_tokens_per_s,
        "eval_requests_per_s": p.eval_requests_per_s,
    }
