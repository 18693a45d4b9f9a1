"""The one place that maps xinstruct's `TrainConfig` onto TRL's `SFTConfig` and PEFT's `LoraConfig`.

Kept apart so that a TRL or PEFT rename breaks one function (and its test), not a user's run.
"""

from __future__ import annotations

from pathlib import Path

from xinstruct.config import TrainConfig
from xinstruct.quiet import verbose


def build_sft_config(cfg: TrainConfig, seed: int, output_dir: Path, has_eval: bool = False):
    """`output_dir` receives the checkpoints; the stage's own outputs are saved elsewhere."""
    from trl import SFTConfig

    precision = resolve_precision(cfg.precision)
    packing = resolve_packing(cfg)
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.lr,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        warmup_steps=cfg.warmup,
        weight_decay=cfg.weight_decay,
        lr_scheduler_type=cfg.scheduler,
        max_length=cfg.max_length,
        completion_only_loss=True,  # loss on the response tokens only
        packing=packing,
        packing_strategy="bfd",  # best-fit decreasing, padding-free: position ids restart per example
        train_sampling_strategy="group_by_length" if cfg.group_by_length and not packing else "random",
        seed=seed,
        data_seed=seed,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.checkpoint_steps,
        save_total_limit=2,
        eval_strategy="epoch" if has_eval else "no",
        prediction_loss_only=True,
        report_to=cfg.report_to or "none",
        gradient_checkpointing=cfg.gradient_checkpointing,
        dataset_num_proc=None,
        disable_tqdm=not verbose(),  # quiet: xinstruct's own progress bar (train/sft.py) and the stage's log file
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **_distributed_on_cpu(),
    )


def _distributed_on_cpu() -> dict:
    """Under torchrun without CUDA, transformers must be told to run DDP on CPU over gloo."""
    import os

    import torch

    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and not torch.cuda.is_available():
        return {"use_cpu": True, "ddp_backend": "gloo"}
    return {}


def resolve_packing(cfg: TrainConfig) -> bool:
    """auto -> pack only where varlen flash-attention kernels exist.

    A padding-free batch is one long row; without a varlen kernel, SDPA attends over the whole row
    under a block-diagonal mask, which on CPU made packing 2.7x slower per token than padded
    batches (bench/train_throughput.py). Length-grouped batches waste little padding instead.
    """
    if cfg.packing != "auto":
        return cfg.packing
    import importlib.util

    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None


def resolve_precision(precision: str) -> str:
    """`auto` -> bf16 where a CUDA device supports it, else fp32 (CPU training stays exact)."""
    if precision != "auto":
        return precision
    import torch

    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"


def build_lora_config(cfg: TrainConfig):
    if cfg.method not in ("lora", "qlora"):
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_target_modules,
        task_type="CAUSAL_LM",
    )
