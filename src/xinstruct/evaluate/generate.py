"""Batched greedy generation with left padding, longest prompts first.

Sorting by length keeps padding (wasted compute) low; results come back in input order.
"""

from __future__ import annotations

from xinstruct.progress import progress_bar


def generate(
    model,
    tokenizer,
    prompts: list[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int,
    description: str = "generating",
) -> list[str]:
    """Greedy completions of chat `prompts` (lists of messages), in the same order."""
    import torch

    encoded = [_ids(tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True)) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    outputs: list[str] = [""] * len(encoded)
    model.eval()
    with progress_bar() as bar, torch.inference_mode():
        task = bar.add_task(description, total=len(encoded))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
            attention = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                ids = encoded[i]
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                attention[row, width - len(ids) :] = 1
            generated = model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad,
                eos_token_id=tokenizer.eos_token_id,
            )
            for row, i in enumerate(idx):
                outputs[i] = tokenizer.decode(generated[row, width:], skip_special_tokens=True).strip()
            bar.update(task, advance=len(idx))
    return outputs


def _ids(encoded) -> list[int]:
    # transformers >= 5 returns a BatchEncoding from apply_chat_template(tokenize=True); 4.x a list.
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)
