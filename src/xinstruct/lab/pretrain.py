"""Build the lab's base model: a BPE tokenizer and a small Llama pretrained on the lab corpus.

The result is an ordinary Hugging Face model directory (config, safetensors weights,
`PreTrainedTokenizerFast` with a chat template), cached by the content hash of the world
and pretraining configs. From there on the pipeline loads it like any hub model.

Sizes were measured on this project's 2-core CPU (about 60 GFLOP/s, 2.5x slower than the
machine of LAB-NOTES.md, so its 1000-step recipe would take ~13 minutes here): a Llama with
hidden 96, 3 layers and FFN 288, 700 steps of 16 x 128 packed tokens (~100 epochs of a
64-person world) at lr 8e-3 without weight decay takes ~180 s and completes held-out people's
facts at 87-100% in en/qaa/qac/qad. A plain PyTorch loop (not the HF Trainer): this is the hot
part of a cold demo.
"""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from xinstruct.artifacts import atomic_dir, content_key, is_complete, write_manifest
from xinstruct.lab.corpus import pretraining_documents
from xinstruct.lab.world import World, WorldConfig

LAB_VERSION = 5  # bump when the world, corpus or model code changes what gets built

MAX_POSITIONS = 512  # the lab model's context length
SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]

# Role tags and one space, so the first word of a turn is the same " word" token as in running
# text; `{% generation %}` marks what the assistant says (assistant-only loss in TRL).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>{% generation %} {{ message['content'] }}<|end|>{% endgeneration %}"
    "{% else %}<|{{ message['role'] }}|> {{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


class PretrainConfig(BaseModel):
    """Tokenizer, model size and pretraining schedule of the lab base model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(2048, ge=300, description="BPE vocabulary size requested.")
    hidden_size: int = Field(96, ge=16)
    n_layers: int = Field(3, ge=1)
    n_heads: int = Field(4, ge=1)
    intermediate_size: int = Field(288, ge=16)
    steps: int = Field(700, ge=1, description="Optimizer steps.")
    batch_size: int = Field(16, ge=1, description="Sequences per step.")
    seq_len: int = Field(128, ge=16, description="Tokens per sequence (documents are packed).")
    lr: float = Field(8e-3, gt=0)
    warmup_steps: int = Field(50, ge=0)
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay; decay erodes memorized facts.")
    question_docs: int | None = Field(
        None,
        ge=0,
        description="Q&A documents (5 questions each) per epoch of the corpus; default one per person. A small "
        "world needs more to learn to answer (the lab twins: presets/lab/*.yaml).",
    )


def _key_fields(cfg: PretrainConfig) -> dict:
    """The config as content keys hash it; `question_docs` only when set, so keys from before it stay valid."""
    return cfg.model_dump(exclude={"question_docs"} if cfg.question_docs is None else None)


def lab_model_dir(world_cfg: WorldConfig, pretrain_cfg: PretrainConfig, cache_dir: Path) -> tuple[Path, str]:
    """(directory, content key) of the lab base model for these configs."""
    key = content_key({"world": world_cfg.model_dump(), "pretrain": _key_fields(pretrain_cfg), "version": LAB_VERSION})
    return cache_dir / "lab" / key[:16], key


def build_base_model(world_cfg: WorldConfig, pretrain_cfg: PretrainConfig, cache_dir: Path) -> Path:
    """Return the directory of the lab base model, building and caching it if needed."""
    out, key = lab_model_dir(world_cfg, pretrain_cfg, cache_dir)
    if is_complete(out, key):
        return out
    from xinstruct.quiet import stage_log

    world = World(world_cfg)
    with atomic_dir(out) as tmp, stage_log(tmp / "log.txt"):  # transformers' "Writing model shards" bar and such
        t0 = time.perf_counter()
        tokenizer = train_tokenizer(world, pretrain_cfg)
        tokenizer.save_pretrained(tmp)
        stats = pretrain(world, tokenizer, pretrain_cfg, tmp)
        (tmp / "lab_world.json").write_text(world_cfg.model_dump_json(indent=2))
        stats["seconds"] = round(time.perf_counter() - t0, 1)
        write_manifest(tmp, {"stage": "lab_pretrain", "key": key, **stats})
    return out


def train_tokenizer(world: World, cfg: PretrainConfig):
    """Byte-level BPE on one epoch of the corpus, wrapped as a `PreTrainedTokenizerFast`. It takes the whole
    pretraining config: the corpus depends on more than the vocabulary size (`question_docs`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((" " + d for d in pretraining_documents(world, 0, cfg.question_docs)), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|end|>",
        pad_token="<|pad|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )


def pretrain(world: World, tokenizer, cfg: PretrainConfig, out: Path) -> dict:
    """Train a small Llama from scratch on packed lab documents; save it to `out`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from xinstruct.progress import progress_bar

    torch.manual_seed(world.config.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = LlamaForCausalLM(config)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=cfg.weight_decay)

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    batches = _packed_batches(world, tokenizer, cfg)
    losses = []
    with progress_bar() as bar:
        task = bar.add_task("lab pretraining", total=cfg.steps)
        for _ in range(cfg.steps):
            batch = next(batches)
            loss = model(input_ids=batch, labels=batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.update(task, advance=1, description=f"lab pretraining loss {loss.item():.3f}")
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(out)
    n_params = sum(p.numel() for p in model.parameters())
    return {"n_parameters": n_params, "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4), "steps": cfg.steps}


def _packed_batches(world: World, tokenizer, cfg: PretrainConfig):
    """Endless batches of packed `seq_len` blocks; the corpus is re-phrased every epoch."""
    import torch

    sep = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    epoch = 0
    while True:
        docs = pretraining_documents(world, epoch, cfg.question_docs)
        ids: list[int] = []
        for enc in tokenizer(([" " + d for d in docs]), add_special_tokens=False)["input_ids"]:
            ids.extend(enc)
            ids.append(sep)
        n_blocks = len(ids) // cfg.seq_len
        blocks = torch.tensor(ids[: n_blocks * cfg.seq_len]).view(n_blocks, cfg.seq_len)
        order = list(range(n_blocks))
        random.Random(f"{world.config.seed}:blocks:{epoch}").shuffle(order)
        for i in range(0, n_blocks - cfg.batch_size + 1, cfg.batch_size):
            yield blocks[order[i : i + cfg.batch_size]]
        epoch += 1


def load_world(model_dir: Path) -> World:
    """The world a lab model was pretrained on (stored beside its weights)."""
    return World(WorldConfig(**json.loads((Path(model_dir) / "lab_world.json").read_text())))
