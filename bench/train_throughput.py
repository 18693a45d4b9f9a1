"""Bench: training throughput of xinstruct's trainer vs plain TRL `SFTTrainer` defaults, same model and data.

    .venv/bin/python bench/train_throughput.py [--steps 8] [--batch-size 8] [--max-length 512]

Both train the same from-config Llama (~20M parameters; a BPE tokenizer trained here on the
data) on the same real mixture (English Alpaca from ../shared/data) for the same number of
optimizer steps, batch size and sequence length, on this CPU, in fp32:
- xinstruct: `xinstruct.train.sft.train` with its defaults (packing: padding-free best-fit
  decreasing rows, position ids restarting per example);
- TRL: `SFTTrainer` with `SFTConfig` defaults (no packing: each batch padded to its longest).
Throughput counts non-padding tokens only (tokens fed to the model that are not padding).
Ends with `train_throughput: xinstruct A tok/s, trl B tok/s, ratio R` (goal R >= 1.5).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hardware import add_arguments, config_overrides, mfu, shared_data  # noqa: E402

SHARED = shared_data() / "alpaca" / "alpaca_data.json"


def make_model_dir(rows: list[dict], out: Path, size: str = "small") -> Path:
    """A BPE tokenizer trained on the data and a ~20M-parameter Llama built from config (random weights)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from xinstruct.train.chat_templates import CHATML

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=8000, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator((r["instruction"] + " " + r["input"] + " " + r["output"] for r in rows), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>", chat_template=CHATML, model_max_length=2048
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=384,
        intermediate_size=1024,
        num_hidden_layers=8,
        num_attention_heads=6,
        num_key_value_heads=6,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    for key, value in config_overrides(size).items():
        setattr(config, key, value)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


class TokenCounter:
    """Wraps a data collator; counts the non-padding tokens of every batch it builds."""

    def __init__(self, collator):
        self.collator, self.tokens = collator, 0

    def __call__(self, features):
        batch = self.collator(features)
        if "attention_mask" in batch:
            self.tokens += int(batch["attention_mask"].sum())
        else:  # padding-free: every token is real
            self.tokens += int(batch["input_ids"].numel())
        return batch


def count_tokens(trainer) -> TokenCounter:
    counter = TokenCounter(trainer.data_collator)
    trainer.data_collator = counter
    return counter


def run_xinstruct(model_dir: Path, mixture: Path, args, work: Path) -> float:
    from trl import SFTTrainer

    from xinstruct.config import TrainConfig
    from xinstruct.train import sft

    measured: list[float] = []
    original_train = SFTTrainer.train

    def timed_train(self, *a, **k):  # count and time inside the very trainer xinstruct builds
        counter = count_tokens(self)
        self.args.max_steps = args.steps
        t0 = time.perf_counter()
        result = original_train(self, *a, **k)
        measured.append(counter.tokens / (time.perf_counter() - t0))
        return result

    SFTTrainer.train = timed_train
    try:
        cfg = TrainConfig(
            method="full", lr=1e-4, batch_size=args.batch_size, max_length=args.max_length, epochs=1,
            logging_steps=1000, loss_by_language=False, checkpoint_steps=10_000, precision=args.dtype,
        )  # fmt: skip
        sft.train(str(model_dir), mixture, cfg, 0, work / "xinstruct-out", work / "xinstruct-ckpt")
    finally:
        SFTTrainer.train = original_train
    return measured[0]


def run_trl(model_dir: Path, rows: list[dict], args, work: Path) -> float:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = SFTConfig(
        output_dir=str(work / "trl-ckpt"),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        max_length=args.max_length,
        learning_rate=1e-4,
        logging_steps=1000,
        save_strategy="no",
        report_to="none",
        bf16=args.dtype == "bf16",
        fp16=args.dtype == "fp16",
        use_cpu=args.device == "cpu",
        seed=0,
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    counter = count_tokens(trainer)
    t0 = time.perf_counter()
    trainer.train()
    return counter.tokens / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--examples", type=int, default=4000)
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense peak for MFU")
    add_arguments(parser)
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"bench needs {SHARED} (the team's shared data)")
    import torch

    from xinstruct.data.schema import Example, chat, write_jsonl

    torch.manual_seed(0)
    data = [r for r in json.loads(SHARED.read_text(encoding="utf-8")) if r["output"].strip()]
    rows = random.Random(0).sample(data, args.examples)
    with tempfile.TemporaryDirectory(prefix="xinstruct-bench-") as tmp:
        work = Path(tmp)
        model_dir = make_model_dir(rows, work / "model", args.size)
        prompts = [(r["instruction"] + ("\n\n" + r["input"] if r["input"].strip() else ""), r["output"]) for r in rows]
        mixture = work / "mixture.jsonl"
        write_jsonl([Example(f"a{i}", chat(p, o), "alpaca", "en", "en") for i, (p, o) in enumerate(prompts)], mixture)
        conversational = [
            {"prompt": [{"role": "user", "content": p}], "completion": [{"role": "assistant", "content": o}]}
            for p, o in prompts
        ]
        from transformers import AutoModelForCausalLM

        n_params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
        shape = f"{args.steps} steps x {args.batch_size} x {args.max_length}"
        print(f"model: {n_params / 1e6:.1f}M parameters; {shape}", file=sys.stderr)
        trl = run_trl(model_dir, conversational, args, work)
        ours = run_xinstruct(model_dir, mixture, args, work)
    if args.device != "cpu":  # MFU against the GPU's dense peak (meaningless on a CPU)
        ours_mfu, trl_mfu = (mfu(x, n_params, args.dtype, args.peak_tflops) for x in (ours, trl))
        print(f"mfu: xinstruct {100 * ours_mfu:.1f}%, trl {100 * trl_mfu:.1f}% (6N FLOPs per token)")
    print(f"train_throughput: xinstruct {ours:.0f} tok/s, trl {trl:.0f} tok/s, ratio {ours / trl:.2f}")


if __name__ == "__main__":
    main()
