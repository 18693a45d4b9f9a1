"""Packing boundaries, named chat templates, bad input before weights load, model cards."""

from __future__ import annotations

import json
import shutil

import pytest

from xinstruct.config import TrainConfig
from xinstruct.data.schema import Example, chat, write_jsonl
from xinstruct.errors import ConfigError, DataError
from xinstruct.train.trl_args import build_sft_config


def _examples(n: int, lang: str = "en") -> list[Example]:
    return [
        Example(f"{lang}{i}", chat(f"what is the city of bob{i}?" + " please" * (i % 4), f"rome {i}."), "t", lang, lang)
        for i in range(n)
    ]


def test_packed_rows_restart_positions_and_do_not_attend_across_examples(tiny_lab_model):
    """The packed row's logits for each example equal that example's logits computed alone."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_lab_model, dtype=torch.float32).eval()
    rows = [{"prompt": list(ex.messages[:-1]), "completion": [ex.messages[-1]]} for ex in _examples(6)]
    cfg = TrainConfig(method="full", batch_size=1, max_length=128, packing=True)
    trainer = SFTTrainer(
        model=model, args=build_sft_config(cfg, 0, "/tmp/xi-unused"), train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )  # fmt: skip
    batch = trainer.data_collator([trainer.train_dataset[0]])
    assert "attention_mask" not in batch  # padding-free: boundaries come from the position ids
    positions = batch["position_ids"][0]
    starts = [i for i, p in enumerate(positions.tolist()) if p == 0]
    assert len(starts) >= 2, "several examples share the row"
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        for start, end in zip(starts, [*starts[1:], len(positions)], strict=True):
            alone = model(input_ids=batch["input_ids"][:, start:end]).logits[0]
            torch.testing.assert_close(packed[start:end], alone, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["alpaca", "chatml"])
def test_named_template_for_a_base_model_and_response_only_loss(name, tiny_lab_model, tmp_path):
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    from xinstruct.train.chat_templates import resolve_chat_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    tokenizer.chat_template = resolve_chat_template(name)
    ds = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": "what is the city of bob?"}],
          "completion": [{"role": "assistant", "content": "the city of bob is rome."}]}]
    )  # fmt: skip
    cfg = TrainConfig(method="full", batch_size=1, max_length=96, packing=False)
    trainer = SFTTrainer(
        model=str(tiny_lab_model), args=build_sft_config(cfg, 0, tmp_path), train_dataset=ds,
        processing_class=tokenizer,
    )  # fmt: skip
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels = batch["labels"][0]
    kept = tokenizer.decode(labels[labels != -100])
    expected = {"alpaca": "the city of bob is rome.<|end|>", "chatml": "the city of bob is rome.<|im_end|><|end|>"}
    assert kept.strip() == expected[name]
    full = tokenizer.decode(batch["input_ids"][0])
    assert ("### Instruction:" in full) if name == "alpaca" else ("<|im_start|>user" in full)


def test_bad_input_fails_before_weights_load(tiny_lab_model, tmp_path):
    from transformers import BertConfig, T5Config

    from xinstruct.train.sft import train

    mixture = tmp_path / "mix.jsonl"
    write_jsonl(_examples(4), mixture)
    cfg = TrainConfig(method="full", max_length=64)
    with pytest.raises(ConfigError, match=r"field model: cannot load '/nonexistent/model'"):
        train("/nonexistent/model", mixture, cfg, 0, tmp_path / "o1")
    bert = tmp_path / "bert"
    BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, architectures=["BertModel"]
    ).save_pretrained(bert)
    with pytest.raises(ConfigError, match="'bert' model without a causal LM head"):
        train(str(bert), mixture, cfg, 0, tmp_path / "o2")
    t5 = tmp_path / "t5"
    T5Config(d_model=32, num_layers=1, num_heads=2, d_ff=64).save_pretrained(t5)
    with pytest.raises(ConfigError, match="'t5' model without a causal LM head"):
        train(str(t5), mixture, cfg, 0, tmp_path / "o2")
    with pytest.raises(ConfigError, match=r"field train\.max_length: 100000 tokens, but .* takes at most \d+"):
        train(str(tiny_lab_model), mixture, TrainConfig(max_length=100000), 0, tmp_path / "o3")
    with pytest.raises(ConfigError, match="qlora needs a CUDA GPU"):
        train(str(tiny_lab_model), mixture, TrainConfig(method="qlora", max_length=64), 0, tmp_path / "o4")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="the mixture is empty"):
        train(str(tiny_lab_model), empty, cfg, 0, tmp_path / "o5")
    no_template = tmp_path / "base"
    shutil.copytree(tiny_lab_model, no_template)
    config = json.loads((no_template / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(config))
    (no_template / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="has no chat template .* set train.chat_template: alpaca or chatml"):
        train(str(no_template), mixture, cfg, 0, tmp_path / "o6")
    with pytest.raises(ValueError, match="unknown chat template 'vicuna'"):
        TrainConfig(chat_template="vicuna")


def test_packed_lora_run_logs_loss_per_language_and_writes_a_card(tiny_lab_model, tmp_path):
    from xinstruct.train.sft import train

    mixture = tmp_path / "mix.jsonl"
    write_jsonl(_examples(24, "en") + _examples(24, "qaa"), mixture)
    cfg = TrainConfig(
        method="lora", epochs=2, lr=1e-3, batch_size=2, max_length=64, logging_steps=1, save_merged=True, packing=True
    )
    manifest = {"recipe": "pinch", "params": {"share": 0.5}, "mixture_sha256": "ab" * 32, "n_examples": 48}
    stats = train(str(tiny_lab_model), mixture, cfg, 0, tmp_path / "out", tmp_path / "ckpt", manifest)
    out = tmp_path / "out"
    log = json.loads((out / "train_log.json").read_text())
    assert set(log["loss_by_language"]) == {"en", "qaa"} and all(len(v) == 2 for v in log["loss_by_language"].values())
    assert stats["steps"] < 48  # packed: fewer rows than examples
    assert (out / "adapter_model.safetensors").exists() and (out / "merged" / "model.safetensors").exists()
    card = (out / "README.md").read_text()
    assert "ab" * 32 in card and "`pinch`" in card and "library_name: peft" in card
    checkpoints = list((tmp_path / "ckpt").glob("checkpoint-*"))  # the Trainer saves at the end too
    assert checkpoints and all((p / "COMPLETE").exists() for p in checkpoints)


def test_qlora_loads_the_base_in_4_bit_nf4_and_lora_wraps_it():
    import torch

    from xinstruct.train.sft import _load_kwargs
    from xinstruct.train.trl_args import build_lora_config

    cfg = TrainConfig(method="qlora", lora_r=8)
    quant = _load_kwargs(cfg)["quantization_config"]
    assert quant.load_in_4bit and quant.bnb_4bit_quant_type == "nf4" and quant.bnb_4bit_use_double_quant
    assert quant.bnb_4bit_compute_dtype == torch.bfloat16
    assert build_lora_config(cfg).r == 8
