"""Train stage: supervised fine-tuning of any HF causal LM on one arm's mixture.

Reads `<arm>/data/mixture.jsonl` and a base model (hub id or local dir), writes into the
stage directory either the full fine-tuned model or a LoRA adapter (safetensors), the
tokenizer, and `train_log.json` (loss per logging step). Stands on TRL's `SFTTrainer`:
examples go in as conversational prompt/completion pairs, so the tokenizer's own chat
template is applied and the loss covers the completion (assistant) tokens only.
"""

from __future__ import annotations

import json
from pathlib import Path

from xinstruct.config import TrainConfig
from xinstruct.data.schema import read_jsonl
from xinstruct.train.trl_args import build_lora_config, build_sft_config


def train(base_model: str, mixture: Path, cfg: TrainConfig, seed: int, out: Path) -> dict:
    """Fine-tune `base_model` on `mixture`; save the result into `out`; return summary stats."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer

    # Seed first: model init of LoRA weights and data order depend on it.
    set_seed(seed)
    # Data: prompt = every message but the last, completion = the assistant's response.
    rows = [{"prompt": list(ex.messages[:-1]), "completion": [ex.messages[-1]]} for ex in read_jsonl(mixture)]
    dataset = Dataset.from_list(rows)
    # Tokenizer and model: safetensors only; remote code only when the config says so.
    tokenizer = AutoTokenizer.from_pretrained(base_model, trust_remote_code=cfg.trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        base_model, use_safetensors=True, trust_remote_code=cfg.trust_remote_code, dtype=torch.float32
    )
    # Trainer: TRL applies the chat template, masks the prompt, and wraps LoRA when asked.
    trainer = SFTTrainer(
        model=model,
        args=build_sft_config(cfg, seed, out / "_trainer"),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=build_lora_config(cfg),
    )
    result = trainer.train()
    # Save: adapter (LoRA) or full weights, plus the tokenizer, as an ordinary HF directory.
    trainer.save_model(str(out))
    tokenizer.save_pretrained(out)
    log = [row for row in trainer.state.log_history if "loss" in row]
    (out / "train_log.json").write_text(json.dumps(log, indent=1))
    import shutil

    shutil.rmtree(out / "_trainer", ignore_errors=True)
    return {
        "method": cfg.method,
        "base_model": base_model,
        "n_examples": len(rows),
        "steps": trainer.state.global_step,
        "train_loss": round(result.training_loss, 4),
    }
