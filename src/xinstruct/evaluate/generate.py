"""Batched greedy generation with left padding, longest prompts first.

Sorting by length keeps padding (wasted compute) low; results come back in input order.
With a request cache, cached prompts are answered from it and only the misses go to the model
(still length-sorted and batched); each batch is committed to the cache as soon as it is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xinstruct.progress import progress_bar

if TYPE_CHECKING:
    from xinstruct.evaluate.cache import TaskCache

ENGINE = "generate/1"  # bump when the decoding or post-processing below changes: invalidates cached outputs


def generate(
    model,
    tokenizer,
    prompts: list[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int,
    description: str = "generating",
    cache: TaskCache | None = None,
    examples: Sequence[str] | None = None,
) -> list[str]:
    """Greedy completions of chat `prompts` (lists of messages), in the same order.

    `cache` answers the prompts it has (keyed by `examples`, the example ids, and the request) and
    stores the rest batch by batch.
    """
    import torch

    from xinstruct.evaluate.cache import request_key

    examples = list(examples) if examples is not None else [""] * len(prompts)
    keys = [
        (example, request_key({"engine": ENGINE, "messages": p, "max_new_tokens": max_new_tokens, "do_sample": False}))
        for example, p in zip(examples, prompts, strict=True)
    ]
    found = cache.get_many(keys) if cache is not None else {}
    outputs: list[str] = [found.get(key, "") for key in keys]
    todo = [i for i, key in enumerate(keys) if key not in found]
    encoded = {
        i: _ids(tokenizer.apply_chat_template(prompts[i], add_generation_prompt=True, tokenize=True)) for i in todo
    }
    order = sorted(todo, key=lambda i: -len(encoded[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if cache is not None:
        description = f"{description} ({len(prompts) - len(todo)} cached)"
    model.eval()
    with progress_bar() as bar, torch.inference_mode():
        task = bar.add_task(description, total=len(prompts), completed=len(prompts) - len(todo))
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
            if cache is not None:  # one commit per batch: a killed run loses at most this batch
                cache.put_many([(keys[i], outputs[i]) for i in idx])
            bar.update(task, advance=len(idx))
    return outputs


def _ids(encoded) -> list[int]:
    # transformers >= 5 returns a BatchEncoding from apply_chat_template(tokenize=True); 4.x a list.
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)
