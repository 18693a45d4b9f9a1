"""Evaluate stage: run the experiment's tasks on one trained model, in every eval language.

Writes `predictions.jsonl` (one row per example: prompt, prediction, reference, scoring
details) and `metrics.csv` in the results schema (arm, task, language, metric, value, n,
task_version). Works on any HF causal LM directory or a LoRA adapter directory.

With `cache_dir`, every model request goes through the request cache `<cache_dir>/eval_requests.sqlite`
(`xinstruct.evaluate.cache`): a killed evaluation resumes where it stopped, and a rerun of the same
model, tasks and settings sends nothing to the model.

Models load where `placement` says (`xinstruct.evaluate.device`: `eval.device`, `eval.dtype`, `eval.device_map`).
Under torchrun / accelerate launch every rank runs this loop and scores its share of each task's batches
(`xinstruct.evaluate.parallel`); all ranks end with every result, and the caller has rank 0 alone publish `out`.
"""

from __future__ import annotations

import csv
import json
from contextlib import nullcontext
from pathlib import Path

from xinstruct.errors import ConfigError
from xinstruct.evaluate.cache import Lazy, RequestCache, cache_path
from xinstruct.evaluate.device import Placement, resolve_placement
from xinstruct.evaluate.fidelity import line_pass_rate, lingua_fidelity
from xinstruct.evaluate.generate import generate
from xinstruct.evaluate.lm_eval_tasks import LmEvalConfig, evaluate_lm_eval, is_lm_eval
from xinstruct.evaluate.loglik import loglikelihoods
from xinstruct.evaluate.parallel import Shards
from xinstruct.evaluate.tasks import TASKS, evaluation_languages
from xinstruct.evaluate.tasks.common import TaskContext
from xinstruct.evaluate.tasks.records import records_task
from xinstruct.evaluate.vllm_engine import VLLMEngine, resolve_engine
from xinstruct.progress import warn

RESULT_COLUMNS = ["arm", "task", "language", "metric", "value", "n", "task_version"]


def load_model(model_dir: Path, trust_remote_code: bool = False, placement: Placement | None = None):
    """Load a model directory, or a LoRA adapter directory merged into its base model, where `placement`
    says (default: `auto`, `resolve_placement()`). Safetensors only (no pickled weights are ever unpickled),
    and model code from the hub only with `trust_remote_code`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    placement = placement or resolve_placement()
    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    settings = {"use_safetensors": True, "trust_remote_code": trust_remote_code, **placement.load_kwargs()}
    if placement.kind == "cuda" and ":" in placement.device:
        import torch

        torch.cuda.set_device(placement.device)  # this rank's GPU is also the default one (library allocations)
    adapter = model_dir / "adapter_config.json"
    if adapter.exists():
        from peft import PeftModel

        if not (model_dir / "adapter_model.safetensors").exists():  # PEFT would fall back to unpickling a .bin
            raise ConfigError(f"{model_dir}: no adapter_model.safetensors (xinstruct loads safetensors weights only)")
        base = json.loads(adapter.read_text())["base_model_name_or_path"]
        model = AutoModelForCausalLM.from_pretrained(base, **settings)
        extra = {"torch_device": placement.device} if placement.device_map is None and placement.kind != "cpu" else {}
        model = PeftModel.from_pretrained(model, model_dir, **extra).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir, **settings)
    return model, tokenizer


def cache_model_key(cache: RequestCache, model_dir: Path, placement: Placement | None = None) -> str:
    """Who answers, in the request cache: the weights' fingerprint, and the dtype and device kind `load_model`
    uses with `placement` (default `auto`, as `load_model`'s): `sha256:...:torch.float32` on the CPU (the key
    caches have held from the start), `sha256:...:torch.bfloat16:cuda` on a GPU."""
    return f"{cache.fingerprint(model_dir)}:{(placement or resolve_placement()).cache_tag()}"


def evaluate(
    arm: str,
    model_dir: Path,
    ctx: TaskContext,
    tasks: list[str],
    languages: list[str],
    max_new_tokens: int,
    batch_size: int,
    out: Path,
    cache_dir: Path | None = None,
    engine: str = "hf",
    placement: Placement | None = None,
    shards: Shards | None = None,
    lm_eval: LmEvalConfig | None = None,
) -> list[dict]:
    """Run `tasks` x `languages` on the model in `model_dir`; write predictions and metrics into `out`.

    A task skips the languages it does not have (with a warning). Multiple-choice tasks are scored by
    log-likelihood; tasks with `aggregate` add rows for language "all" (e.g. consistency, AC3).
    With `cache_dir`, model requests are looked up in (and added to) the request cache there.
    `engine` (auto | hf | vllm): who generates and scores multiple choice; the model is loaded only when a
    request misses the cache. `placement`: device and dtype (default `auto`). `shards`: this rank's share
    under a launcher (default: from the environment; one process without one).
    """
    from transformers import AutoTokenizer

    placement = placement or resolve_placement()
    engine = resolve_engine(engine, placement)
    shards = shards or Shards.from_env()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    hf_model = Lazy(lambda: load_model(model_dir, placement=placement)[0])  # loaded when a request misses the cache
    # lm_eval: tasks score through transformers under either engine (one HF model for all of them)
    model = hf_model if engine == "hf" else Lazy(lambda: VLLMEngine(model_dir, dtype=placement.dtype), is_vllm=True)
    cache = RequestCache(cache_path(cache_dir)) if cache_dir is not None else None
    model_key = ""
    if cache is not None:  # once per evaluation: the weights' fingerprint (file hashes are cached too), by rank 0
        model_key = shards.broadcast(cache_model_key(cache, model_dir, placement) if shards.is_main else None)
    rows_out: list[dict] = []
    with (
        cache if cache is not None else nullcontext(),
        open(out / "predictions.jsonl", "w", encoding="utf-8") as pred_file,
    ):
        for task_name in tasks:
            if is_lm_eval(task_name):  # lm-evaluation-harness formats and scores it; `lm_eval`: eval.lm_eval
                rows_out += evaluate_lm_eval(task_name, arm, model_dir, hf_model, tokenizer, ctx, languages,
                                             batch_size, cache, model_key, pred_file, lm_eval)  # fmt: skip
                continue
            task = TASKS[task_name] if task_name in TASKS else records_task(task_name, ctx)
            task_languages, missing = evaluation_languages(task, languages, ctx)
            if missing:
                warn(f"task {task_name} has no {missing}; evaluating {task_languages}")
            chosen: dict[str, list[str]] = {}
            answers: dict[str, list[str]] = {}
            for lang in task_languages:
                rows = task.load(ctx, lang)
                label = f"{arm} {task_name} {lang}"
                scope = cache.scope(model_key, f"{task.name}@{task.version}") if cache is not None else None
                examples = [f"{lang}/{row['id']}" for row in rows]
                if task.kind == "multiple_choice":
                    metrics, details = _multiple_choice(
                        model, tokenizer, task, rows, batch_size, label, scope, examples, shards
                    )
                    chosen[lang] = [d["prediction"] for d in details]
                    answers[lang] = [row["choices"][row["gold"]] for row in rows]
                else:
                    messages = [row["messages"] for row in rows]
                    length = getattr(task, "max_new_tokens", None) or max_new_tokens  # a task's own (BBH's CoT)
                    stop = getattr(task, "stop", ())  # the task's stop strings (lm-eval's `until`)
                    predictions = generate(
                        model, tokenizer, messages, length, batch_size, label, scope, examples, stop=stop, shards=shards
                    )
                    metrics, details = task.score(ctx, lang, rows, predictions)
                    details = [{"prediction": p, **d} for p, d in zip(predictions, details, strict=True)]
                    if hasattr(task, "aggregate"):  # a generation task's picks across languages (lab_qa_cross)
                        chosen[lang], answers[lang] = [d["pick"] for d in details], [d["gold_pick"] for d in details]
                    if getattr(task, "fidelity", False):  # answers in the evaluation language? lingua, and LPR
                        fidelity, per_answer = lingua_fidelity(predictions, lang, ctx.candidate_languages)
                        lpr, per_line = line_pass_rate(predictions, lang)
                        metrics = {**metrics, **fidelity, **lpr}
                        details = [{**d, **x, **y} for d, x, y in zip(details, per_answer, per_line, strict=True)]
                for row, detail in zip(rows, details, strict=True):
                    record = {"arm": arm, "task": task_name, "language": lang, "id": row["id"]}
                    record["scores"] = example_scores(metrics, detail)
                    record["prompt"] = row["messages"][-1]["content"] if "messages" in row else row["context"]
                    record["reference"] = row.get("answer", row.get("golds"))
                    pred_file.write(json.dumps({**record, **detail}, ensure_ascii=False) + "\n")
                rows_out += result_rows(arm, task.name, task.version, lang, metrics, len(rows))
            if hasattr(task, "aggregate") and len(chosen) >= 2:
                n = min(len(v) for v in chosen.values())
                rows_out += result_rows(arm, task.name, task.version, "all", task.aggregate(chosen, answers), n)
    write_results(rows_out, out / "metrics.csv")
    return rows_out


def example_scores(metrics: dict, detail: dict) -> dict[str, float]:
    """This example's value of each metric that is a mean over examples (what the report bootstraps);
    corpus metrics (chrF, BLEU) and cross-language aggregates have none."""
    return {m: float(detail[m]) for m in metrics if isinstance(detail.get(m), int | float | bool)}


def _multiple_choice(
    model, tokenizer, task, rows: list[dict], batch_size: int, label: str, cache, examples, shards: Shards
):
    from xinstruct.metrics import mc_metrics

    if hasattr(task, "requests"):  # the task formats its own (records: in the model's chat template)
        requests = task.requests(tokenizer, rows)
    else:
        delimiter = getattr(task, "target_delimiter", " ")  # lm-eval's: " " by default, "" for PAWS-X
        requests = [(row["context"], delimiter + choice) for row in rows for choice in row["choices"]]
    request_examples = [example for row, example in zip(rows, examples, strict=True) for _ in row["choices"]]
    scores = loglikelihoods(model, tokenizer, requests, batch_size, label, cache, request_examples, shards)
    details, start = [], 0
    totals: dict[str, float] = {}
    for row in rows:
        lls = [ll for ll, _ in scores[start : start + len(row["choices"])]]
        start += len(row["choices"])
        per = mc_metrics(lls, row["choices"], row["gold"])  # argmax: first index on ties, like lm-eval
        details.append({"prediction": row["choices"][per["pred"]], "loglikelihoods": lls, **per})
        for metric in task.metrics:
            totals[metric] = totals.get(metric, 0.0) + per[metric]
    return {metric: value / len(rows) for metric, value in totals.items()}, details


def result_rows(arm: str, task: str, version: int, lang: str, metrics: dict, n: int) -> list[dict]:
    """Rows of the results schema, one per metric."""
    return [
        {
            "arm": arm,
            "task": task,
            "language": lang,
            "metric": metric,
            "value": round(value, 6),
            "n": n,
            "task_version": version,
        }
        for metric, value in metrics.items()
    ]


def write_results(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def read_results(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return [{**row, "value": float(row["value"]), "n": int(row["n"])} for row in csv.DictReader(f)]
