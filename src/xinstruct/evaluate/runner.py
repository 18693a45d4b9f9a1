"""Evaluate stage: run the experiment's tasks on one trained model, in every eval language.

Writes `predictions.jsonl` (one row per example: prompt, prediction, reference, scoring
details) and `metrics.csv` in the results schema (arm, task, language, metric, value, n,
task_version). Works on any HF causal LM directory or a LoRA adapter directory.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from xinstruct.evaluate.generate import generate
from xinstruct.evaluate.tasks import TASKS

RESULT_COLUMNS = ["arm", "task", "language", "metric", "value", "n", "task_version"]


def load_model(model_dir: Path, trust_remote_code: bool = False):
    """Load a model directory, or a LoRA adapter directory merged into its base model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    adapter = model_dir / "adapter_config.json"
    if adapter.exists():
        from peft import PeftModel

        base = json.loads(adapter.read_text())["base_model_name_or_path"]
        model = AutoModelForCausalLM.from_pretrained(
            base, use_safetensors=True, trust_remote_code=trust_remote_code, dtype=torch.float32
        )
        model = PeftModel.from_pretrained(model, model_dir).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(
            model_dir, use_safetensors=True, trust_remote_code=trust_remote_code, dtype=torch.float32
        )
    return model, tokenizer


def evaluate(
    arm: str,
    model_dir: Path,
    task_model_dir: Path,
    tasks: list[str],
    languages: list[str],
    max_new_tokens: int,
    batch_size: int,
    out: Path,
) -> list[dict]:
    """Run `tasks` x `languages` on the model in `model_dir`; write predictions and metrics into `out`.

    `task_model_dir` is where tasks look for task data tied to a model (the lab world).
    """
    model, tokenizer = load_model(model_dir)
    rows_out: list[dict] = []
    with open(out / "predictions.jsonl", "w", encoding="utf-8") as pred_file:
        for task_name in tasks:
            task = TASKS[task_name]
            for lang in languages:
                examples = task.load(task_model_dir, lang)
                predictions = generate(
                    model,
                    tokenizer,
                    [ex["messages"] for ex in examples],
                    max_new_tokens,
                    batch_size,
                    description=f"{arm} {task_name} {lang}",
                )
                metrics, details = task.score(task_model_dir, lang, examples, predictions)
                for ex, pred, detail in zip(examples, predictions, details, strict=True):
                    pred_file.write(
                        json.dumps(
                            {
                                "arm": arm,
                                "task": task_name,
                                "language": lang,
                                "id": ex["id"],
                                "prompt": ex["messages"][-1]["content"],
                                "prediction": pred,
                                "reference": ex.get("answer"),
                                **detail,
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                for metric, value in metrics.items():
                    rows_out.append(
                        {
                            "arm": arm,
                            "task": task_name,
                            "language": lang,
                            "metric": metric,
                            "value": round(value, 6),
                            "n": len(examples),
                            "task_version": task.version,
                        }
                    )
    write_results(rows_out, out / "metrics.csv")
    return rows_out


def write_results(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def read_results(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return [{**row, "value": float(row["value"]), "n": int(row["n"])} for row in csv.DictReader(f)]
