"""The one place that maps xinstruct's `TrainConfig` onto TRL's `SFTConfig` and PEFT's `LoraConfig`.

Kept apart so that a TRL or PEFT rename breaks one function (and its test), not a user's run.
"""

from __future__ import annotations

from pathlib import Path

from xinstruct.config import TrainConfig


def build_sft_config(cfg: TrainConfig, seed: int, output_dir: Path):
    from trl import SFTConfig

    precision = resolve_precision(cfg.precision)
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.lr,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.scheduler,
        max_length=cfg.max_length,
        completion_only_loss=True,  # loss on the response tokens only
        packing=False,
        seed=seed,
        data_seed=seed,
        logging_steps=cfg.logging_steps,
        save_strategy="no",
        report_to="none",
        dataset_num_proc=None,
        disable_tqdm=False,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
    )


def resolve_precision(precision: str) -> str:
    """`auto` -> bf16 where a CUDA device supports it, else fp32 (CPU training stays exact)."""
    if precision != "auto":
        return precision
    import torch

    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"


def build_lora_config(cfg: TrainConfig):
    if cfg.method != "lora":
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_target_modules,
        task_type="CAUSAL_LM",
    )
