"""Train stage: supervised fine-tuning of any HF causal LM on one arm's mixture.

Reads `<arm>/data/mixture.jsonl` and a base model (hub id or local dir), writes into the stage
directory the LoRA adapter or the full model (safetensors), the tokenizer, `train_log.json`
(loss per logging step, loss per language per epoch) and a model card (README.md). Stands on
TRL's `SFTTrainer`: examples go in as conversational prompt/completion pairs, so the chat
template is applied and the loss covers the completion (assistant) tokens only; with
`packing` they are packed padding-free (best-fit decreasing) with position ids restarting per
example, which transformers turns into a block-diagonal attention mask.

Checkpoints go to `checkpoint_dir` every `checkpoint_steps`; a checkpoint is complete once
`COMPLETE` is written into it, and a rerun resumes from the latest complete one (weights,
optimizer, scheduler, RNG and data position), so a killed run ends where an uninterrupted one would.
Under `torchrun`/`accelerate launch` every rank runs this function; rank 0 writes the outputs and
all ranks check that their weights agree.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from pathlib import Path

from xinstruct.config import TrainConfig
from xinstruct.data.schema import read_jsonl
from xinstruct.errors import ConfigError, DataError
from xinstruct.quiet import verbose
from xinstruct.train.checks import check_model
from xinstruct.train.trl_args import build_lora_config, build_sft_config, resolve_precision

COMPLETE = "COMPLETE"
LANGUAGE_SAMPLE = 32  # examples per language for the per-language loss


def train(
    base_model: str,
    mixture: Path,
    cfg: TrainConfig,
    seed: int,
    out: Path,
    checkpoint_dir: Path | None = None,
    data_manifest: dict | None = None,
) -> dict:
    """Fine-tune `base_model` on `mixture`; save the result into `out`; return summary stats."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer

    # Everything that can be wrong with the input is checked before any weights load.
    examples = list(read_jsonl(mixture))
    if not examples:
        raise DataError(f"{mixture}: the mixture is empty; nothing to train on")
    check_model(base_model, cfg)
    tokenizer = AutoTokenizer.from_pretrained(base_model, trust_remote_code=cfg.trust_remote_code)
    if cfg.chat_template is not None:
        from xinstruct.train.chat_templates import resolve_chat_template

        tokenizer.chat_template = resolve_chat_template(cfg.chat_template)
    elif tokenizer.chat_template is None:
        raise ConfigError(
            f"field train.chat_template: {base_model!r} has no chat template (a base model); "
            "set train.chat_template: alpaca or chatml (or a Jinja string)"
        )

    set_seed(seed)  # before the model: LoRA init and data order depend on it
    rows = [{"prompt": list(ex.messages[:-1]), "completion": [ex.messages[-1]]} for ex in examples]
    by_language = _language_samples(examples, seed) if cfg.loss_by_language else {}
    model = AutoModelForCausalLM.from_pretrained(base_model, **_load_kwargs(cfg))
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)

    checkpoint_dir = Path(checkpoint_dir or out / "_checkpoints")
    trainer = SFTTrainer(
        model=model,
        args=build_sft_config(cfg, seed, checkpoint_dir, has_eval=bool(by_language)),
        train_dataset=Dataset.from_list(rows),
        eval_dataset={lang: Dataset.from_list(sample) for lang, sample in by_language.items()} or None,
        processing_class=tokenizer,
        peft_config=build_lora_config(cfg),
        callbacks=[_mark_complete_callback(), _progress_callback()],
    )
    if not verbose():  # disable_tqdm made the Trainer print log dicts instead: our progress bar and the log file
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    resume = latest_checkpoint(checkpoint_dir)
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    digest = weights_digest(trainer.model)
    ranks_agree = _ranks_agree(digest)
    if not trainer.is_world_process_zero():
        return {}

    trainer.save_model(str(out))
    tokenizer.save_pretrained(out)
    if cfg.save_merged and cfg.method in ("lora", "qlora"):
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(out / "merged", safe_serialization=True)
        tokenizer.save_pretrained(out / "merged")
    history = trainer.state.log_history
    log = {
        "loss": [row for row in history if "loss" in row],
        "loss_by_language": {
            lang: [row[f"eval_{lang}_loss"] for row in history if f"eval_{lang}_loss" in row] for lang in by_language
        },
    }
    (out / "train_log.json").write_text(json.dumps(log, indent=1))
    summary = {
        "method": cfg.method,
        "base_model": base_model,
        "n_examples": len(rows),
        "steps": trainer.state.global_step,
        "train_loss": round(result.training_loss, 4),
        "final_loss_by_language": {lang: round(v[-1], 4) for lang, v in log["loss_by_language"].items() if v},
        "resumed_from": resume.name if resume else None,
        "world_size": trainer.args.world_size,
        "ranks_agree": ranks_agree,
        "weights_sha256": digest,
    }
    write_model_card(out, base_model, cfg, seed, summary, data_manifest)
    if checkpoint_dir == out / "_checkpoints":  # checkpoints kept inside the output: done with them
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return summary


def _load_kwargs(cfg: TrainConfig) -> dict:
    import torch

    precision = resolve_precision(cfg.precision)
    kwargs: dict = {
        "use_safetensors": True,
        "trust_remote_code": cfg.trust_remote_code,
        "dtype": torch.bfloat16 if precision == "bf16" else torch.float32,
    }
    if cfg.attn_implementation:
        kwargs["attn_implementation"] = cfg.attn_implementation
    if cfg.method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    return kwargs


def _language_samples(examples, seed: int) -> dict[str, list[dict]]:
    """Up to LANGUAGE_SAMPLE training examples per instruction language (seeded), for the loss by language."""
    by_lang: dict[str, list] = {}
    for ex in examples:
        by_lang.setdefault(ex.lang, []).append(ex)
    rng = random.Random(f"{seed}:loss-by-language")
    return {
        lang: [
            {"prompt": list(ex.messages[:-1]), "completion": [ex.messages[-1]]}
            for ex in rng.sample(items, min(LANGUAGE_SAMPLE, len(items)))
        ]
        for lang, items in sorted(by_lang.items())
    }


def _progress_callback():
    from transformers import TrainerCallback

    from xinstruct.progress import progress_bar

    class RichProgress(TrainerCallback):
        """One rich bar with ETA over the optimizer steps (rank 0); the Trainer's log dicts go to the stage's
        log file (logger `xinstruct.train`), not the console."""

        def __init__(self):
            self.bar = self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero and not verbose():
                self.bar = progress_bar(transient=True)
                self.bar.start()
                self.task = self.bar.add_task("train", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                logging.getLogger("transformers.trainer").info("step %d: %s", state.global_step, json.dumps(logs))

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    return RichProgress()


def _mark_complete_callback():
    from transformers import TrainerCallback

    class MarkComplete(TrainerCallback):
        """Write COMPLETE into a checkpoint once the Trainer has finished saving it."""

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if path.is_dir():
                    (path / COMPLETE).write_text("")
            return control

    return MarkComplete()


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest checkpoint that was completely written, if any."""
    done = [p for p in Path(checkpoint_dir).glob("checkpoint-*") if (p / COMPLETE).exists()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def weights_digest(model) -> str:
    """sha256 over the trainable parameters (names and bytes): equal on every rank of a DDP run."""
    h = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        if param.requires_grad:
            h.update(name.encode())
            h.update(param.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _ranks_agree(digest: str) -> bool:
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return True
    digests: list = [None] * dist.get_world_size()
    dist.all_gather_object(digests, digest)
    return len(set(digests)) == 1


def write_model_card(
    out: Path, base_model: str, cfg: TrainConfig, seed: int, summary: dict, data_manifest: dict | None
) -> None:
    """README.md with HF model-card metadata: base model, data manifest hash, recipe, hyperparameters."""
    from huggingface_hub import ModelCard, ModelCardData

    data = data_manifest or {}
    card_data = ModelCardData(
        base_model=base_model if not Path(base_model).exists() else None,
        library_name="peft" if cfg.method in ("lora", "qlora") else "transformers",
        tags=["xinstruct", "sft", cfg.method],
    )
    hyper = json.dumps({**cfg.model_dump(), "seed": seed}, indent=1)
    languages = json.dumps(data.get("counts", {}).get("language", {}))
    text = f"""---
{card_data.to_yaml()}
---

# {out.parent.name}: {cfg.method} fine-tune of {base_model}

Trained with xinstruct (TRL SFTTrainer), loss on the response tokens only.

## Data
- data: {_recipe_line(data)}
- examples: {data.get("n_examples", summary["n_examples"])}, by language: `{languages}`
- mixture sha256: `{data.get("mixture_sha256")}`
- data stage key: `{data.get("key")}`

## Training
- steps: {summary["steps"]}, final train loss: {summary["train_loss"]}
- loss by language (last epoch, a sample of the training data): `{json.dumps(summary["final_loss_by_language"])}`

## Hyperparameters
```json
{hyper}
```
"""
    ModelCard(text).save(out / "README.md")


def _recipe_line(data: dict) -> str:
    """The arm's recipe with its parameters, or each part's, for the model card."""
    if "parts" in data:
        return "; ".join(f"part `{p['name']}`: `{p['recipe']}` with `{json.dumps(p['params'])}`" for p in data["parts"])
    return f"recipe `{data.get('recipe')}` with `{json.dumps(data.get('params', {}))}`"
