"""A few training steps on the tiny lab model, LoRA and full, and the TRL argument mapping."""

import json

import pytest

from xinstruct.config import TrainConfig
from xinstruct.data.schema import Example, chat, write_jsonl
from xinstruct.train.trl_args import build_lora_config, build_sft_config


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    path = tmp_path_factory.mktemp("mix") / "mixture.jsonl"
    write_jsonl(
        [
            Example(f"e{i}", chat(f"what is the city of bob{i}?", f"the city of bob{i} is rome."), "t", "en", "en")
            for i in range(16)
        ],
        path,
    )
    return path


@pytest.mark.parametrize("method", ["full", "lora"])
def test_few_steps(method, mixture, tiny_lab_model, tmp_path):
    from xinstruct.evaluate.runner import load_model
    from xinstruct.train.sft import train

    cfg = TrainConfig(method=method, epochs=1, lr=1e-3, batch_size=4, max_length=64, logging_steps=1, packing=False)
    stats = train(str(tiny_lab_model), mixture, cfg, seed=0, out=tmp_path)
    assert stats["steps"] == 4 and stats["train_loss"] > 0
    weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    assert (tmp_path / weights).exists() and not (tmp_path / "_checkpoints").exists()
    log = json.loads((tmp_path / "train_log.json").read_text())
    assert len(log["loss"]) == 4 and len(log["loss_by_language"]["en"]) == 1  # one epoch, one language
    card = (tmp_path / "README.md").read_text()
    assert "xinstruct" in card and f'"lr": {cfg.lr}' in card
    model, tokenizer = load_model(tmp_path)  # loads back (adapter merged into its base)
    assert model.config.vocab_size == len(tokenizer)


def test_loss_is_on_the_response_only(mixture, tiny_lab_model):
    """Decode the label positions TRL keeps: exactly the assistant's answer and end token."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(tiny_lab_model)
    cfg = TrainConfig(method="full", epochs=1, batch_size=2, max_length=64)
    ds = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": "what is the city of bob?"}],
                "completion": [{"role": "assistant", "content": "the city of bob is rome."}],
            }
        ]
    )
    trainer = SFTTrainer(
        model=str(tiny_lab_model),
        args=build_sft_config(cfg, 0, "/tmp/xi-unused"),
        train_dataset=ds,
        processing_class=tokenizer,
    )
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels = batch["labels"][0]
    kept = tokenizer.decode(labels[labels != -100])
    assert kept.strip() == "the city of bob is rome.<|end|>"


def test_trl_arguments_from_the_demo_preset():
    from xinstruct.cli import demo_preset
    from xinstruct.config import load_experiment

    exp = load_experiment(demo_preset())
    args = build_sft_config(exp.arm_train("pinch"), exp.seed, "/tmp/xi-unused")
    assert args.learning_rate == exp.train.lr and args.completion_only_loss is True and args.max_length == 128
    assert build_lora_config(exp.arm_train("pinch")) is None
    lora = build_lora_config(TrainConfig(lora_r=4))
    assert lora.r == 4 and lora.task_type == "CAUSAL_LM"
