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


def _completion_loss_gradients(model_dir, examples: list[Example]) -> dict:
    """Gradients of the completion-only loss, computed here from first principles: each example's chat
    template with and without the answer gives the answer's tokens; the loss is the mean cross-entropy
    over those tokens of all examples (the batch's, as the Trainer averages it), one unpadded forward each."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).train()

    def ids(encoded) -> list[int]:
        return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)

    total, count = torch.zeros(()), 0
    for ex in examples:
        messages = [dict(m) for m in ex.messages]
        full = ids(tokenizer.apply_chat_template(messages, tokenize=True))
        prompt = ids(tokenizer.apply_chat_template(messages[:-1], tokenize=True, add_generation_prompt=True))
        assert full[: len(prompt)] == prompt and len(full) > len(prompt)
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([full])).logits[0, :-1].float(), dim=-1)
        answer = torch.arange(len(prompt) - 1, len(full) - 1)  # positions predicting the answer's tokens
        total = total - logprobs[answer, torch.tensor(full[len(prompt) :])].sum()
        count += len(answer)
    (total / count).backward()
    return {name: p.grad for name, p in model.named_parameters()}


def test_one_step_moves_every_weight_as_adamw_does_on_the_completion_loss(tiny_lab_model, tmp_path):
    """Not only `loss > 0`: one full fine-tuning step must change the saved weights by exactly AdamW's
    first step on the gradient of the completion-only loss (computed independently above): with bias
    correction m = g and v = g^2, so theta' = theta (1 - lr wd) - lr g / (|g| + eps), g clipped to the
    configured max norm. Warmup 0: with warmup the first step's learning rate is 0 (see the report)."""
    import torch
    from safetensors.torch import load_file

    from xinstruct.train.sft import train

    examples = [
        Example(f"e{i}", chat(f"what is the city of bob{i}?", f"the city of bob{i} is rome."), "t", "en", "en")
        for i in range(4)
    ]
    mixture = tmp_path / "mixture.jsonl"
    write_jsonl(examples, mixture)
    cfg = TrainConfig(method="full", epochs=1, lr=1e-3, batch_size=4, max_length=64, packing=False, warmup=0)
    stats = train(str(tiny_lab_model), mixture, cfg, seed=0, out=tmp_path / "out")
    assert stats["steps"] == 1  # four examples, one batch of four: one optimizer step

    args = build_sft_config(cfg, 0, tmp_path / "unused")
    grads = _completion_loss_gradients(tiny_lab_model, examples)
    norm = float(torch.sqrt(sum((g**2).sum() for g in grads.values())))
    clip = min(1.0, args.max_grad_norm / (norm + 1e-6))  # torch's clip_grad_norm_
    before = load_file(tiny_lab_model / "model.safetensors")
    after = load_file(tmp_path / "out" / "model.safetensors")
    assert set(after) == set(before) == set(grads)
    for name, theta in before.items():
        g = grads[name] * clip
        expected = theta * (1 - cfg.lr * args.weight_decay) - cfg.lr * g / (g.abs() + args.adam_epsilon)
        assert not torch.equal(after[name], theta), f"{name} did not move"
        torch.testing.assert_close(after[name], expected, atol=2e-6, rtol=0, msg=lambda m, n=name: f"{n}: {m}")


def test_one_lora_step_moves_the_zero_initialised_b_matrices(mixture, tiny_lab_model, tmp_path):
    """LoRA starts with B = 0 (the adapter is a no-op); AdamW's first step moves each entry of B by at most
    lr, by lr itself where the gradient is well above eps. The saved adapter must show that step."""
    import torch
    from safetensors.torch import load_file

    from xinstruct.train.sft import train

    small = tmp_path / "four.jsonl"
    small.write_text("".join(mixture.read_text().splitlines(keepends=True)[:4]))
    cfg = TrainConfig(method="lora", epochs=1, lr=1e-3, batch_size=4, max_length=64, packing=False, warmup=0)
    assert train(str(tiny_lab_model), small, cfg, seed=0, out=tmp_path / "out")["steps"] == 1
    adapter = load_file(tmp_path / "out" / "adapter_model.safetensors")
    b = torch.cat([v.flatten() for k, v in adapter.items() if "lora_B" in k]).abs()
    assert len(b) > 0 and bool((b > 0).all()) and float(b.max()) <= cfg.lr * (1 + 1e-5)
    assert float(b.median()) == pytest.approx(cfg.lr, rel=1e-2)
