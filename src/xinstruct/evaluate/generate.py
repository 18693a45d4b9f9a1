"""Batched greedy generation with left padding, longest prompts first, shared prefixes run once.

Sorting by length keeps padding (wasted compute) low; prompts sharing a long prefix (questions
about one passage) are batched together and the prefix is computed once for the batch; results
come back in input order. Stop strings end a completion as lm-evaluation-harness's `until` does.
With a request cache, cached prompts are answered from it and only the misses go to the model
(still length-sorted and batched); each batch is committed to the cache as soon as it is done.
`model` may also be a `VLLMEngine` (`xinstruct.evaluate.vllm_engine`): the same tokenization, cache
and post-processing, with vLLM scheduling the batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xinstruct.progress import progress_bar

if TYPE_CHECKING:
    from xinstruct.evaluate.cache import TaskCache

ENGINE = "generate/2"  # bump when the decoding or post-processing below changes: invalidates cached outputs
VLLM_ENGINE = "vllm/1"  # vLLM's kernels may differ from HF's in the last bits: its answers are cached apart
VLLM_CHUNK = 512  # prompts per vLLM call (and per cache commit)


def generate(
    model,
    tokenizer,
    prompts: list[list[dict[str, str]]],
    max_new_tokens: int,
    batch_size: int,
    description: str = "generating",
    cache: TaskCache | None = None,
    examples: Sequence[str] | None = None,
    stop: Sequence[str] = (),
) -> list[str]:
    """Greedy completions of chat `prompts` (lists of messages), in the same order.

    `stop` strings end a completion (generation halts once one appears) and are cut off with
    everything after them, as lm-evaluation-harness's `until` does.

    `cache` answers the prompts it has (keyed by `examples`, the example ids, and the request) and
    stores the rest batch by batch.
    """
    import torch

    from xinstruct.evaluate.cache import materialize, request_key

    examples = list(examples) if examples is not None else [""] * len(prompts)
    vllm = getattr(model, "is_vllm", False)
    asked = {
        "engine": VLLM_ENGINE if vllm else ENGINE,
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        **({"stop": list(stop)} if stop else {}),
    }
    keys = [(example, request_key({**asked, "messages": p})) for example, p in zip(examples, prompts, strict=True)]
    found = cache.get_many(keys) if cache is not None else {}
    outputs: list[str] = [found.get(key, "") for key in keys]
    todo = [i for i, key in enumerate(keys) if key not in found]
    if todo:
        model = materialize(model)
    encoded = {
        i: _ids(tokenizer.apply_chat_template(prompts[i], add_generation_prompt=True, tokenize=True)) for i in todo
    }
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if cache is not None:
        description = f"{description} ({len(prompts) - len(todo)} cached)"
    settings = {
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        "pad_token_id": pad,
        "eos_token_id": tokenizer.eos_token_id,
        **({"stop_strings": list(stop), "tokenizer": tokenizer} if stop else {}),
    }
    with progress_bar() as bar, torch.inference_mode():
        task = bar.add_task(description, total=len(prompts), completed=len(prompts) - len(todo))
        if vllm or not todo:
            batches = [(todo[k : k + VLLM_CHUNK], []) for k in range(0, len(todo), VLLM_CHUNK)]
        else:
            model.eval()
            batches = plan_batches(encoded, batch_size)
        for idx, shared in batches:
            if vllm:
                generated = model.generate_ids([encoded[i] for i in idx], max_new_tokens, stop)
            else:
                generated = _generate_batch(model, [encoded[i] for i in idx], shared, pad, settings)
            for i, tokens in zip(idx, generated, strict=True):
                text = tokenizer.decode(tokens, skip_special_tokens=True)
                for end in stop:
                    text = text.split(end)[0]
                outputs[i] = text.strip()
            if cache is not None:  # one commit per batch: a killed run loses at most this batch
                cache.put_many([(keys[i], outputs[i]) for i in idx])
            bar.update(task, advance=len(idx))
    return outputs


MIN_SHARED = 32  # tokens: a shorter common prefix is not worth a separate batch


def plan_batches(encoded: dict[int, list[int]], batch_size: int) -> list[tuple[list[int], list[int]]]:
    """Batches of prompt indices, with the length of the prefix each prompt shares with its group.

    Prompts sharing a long prefix (XQuAD's questions about one passage) form a group whose prefix
    is computed once; whole groups fill batches of up to `batch_size` rows. Prompts that share
    nothing are batched longest first, as plain left-padded rows (shared length 0).
    """
    ordered = sorted(encoded, key=lambda i: encoded[i])  # lexicographic: shared prefixes end up adjacent
    groups: list[list[int]] = []
    for i in ordered:
        if groups and _common(encoded[groups[-1][0]], encoded[i]) >= MIN_SHARED and len(groups[-1]) < batch_size:
            groups[-1].append(i)
        else:
            groups.append([i])
    shared_groups = []
    for group in (g for g in groups if len(g) > 1):
        shared = min(
            min(_common(encoded[group[0]], encoded[i]) for i in group), min(len(encoded[i]) for i in group) - 1
        )
        shared_groups.append((group, shared))
    shared_groups.sort(key=lambda g: -g[1])  # similar prefix lengths together: little padding
    batches: list[tuple[list[int], list[int]]] = []
    for group, shared in shared_groups:
        if batches and batches[-1][1][0] and len(batches[-1][0]) + len(group) <= batch_size:
            batches[-1][0].extend(group)
            batches[-1][1].extend([shared] * len(group))
        else:
            batches.append((list(group), [shared] * len(group)))
    singles = sorted((g[0] for g in groups if len(g) == 1), key=lambda i: -len(encoded[i]))
    batches += [
        (singles[k : k + batch_size], [0] * len(singles[k : k + batch_size]))
        for k in range(0, len(singles), batch_size)
    ]
    return batches


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _generate_batch(model, prompts: list[list[int]], shared: list[int], pad: int, settings: dict) -> list[list[int]]:
    """Greedy continuations of token prompts; each row's first `shared[row]` tokens, common to its
    group (consecutive rows), are computed once per group.

    Row layout: [left padding][shared prefix][padding][rest of the prompt]; the attention mask hides
    the padding and position ids follow from it, so each row computes exactly its own prompt.
    """
    import torch

    top = max(shared)
    rests = [p[s:] for p, s in zip(prompts, shared, strict=True)]
    width = max(len(r) for r in rests)
    input_ids = torch.full((len(prompts), top + width), pad, dtype=torch.long)
    attention = torch.zeros((len(prompts), top + width), dtype=torch.long)
    for row, (prompt, s, rest) in enumerate(zip(prompts, shared, rests, strict=True)):
        input_ids[row, top - s : top] = torch.tensor(prompt[:s], dtype=torch.long)
        attention[row, top - s : top] = 1
        input_ids[row, top + width - len(rest) :] = torch.tensor(rest)
        attention[row, top + width - len(rest) :] = 1
    extra = {}
    if top:
        firsts = [
            row
            for row in range(len(prompts))
            if row == 0 or prompts[row][: shared[row]] != prompts[row - 1][: shared[row - 1]]
        ]
        group_of = torch.tensor([sum(f <= row for f in firsts) - 1 for row in range(len(prompts))])
        prefix_mask = attention[firsts, :top]
        positions = (prefix_mask.cumsum(-1) - 1).clamp(min=0)
        cache = model(
            input_ids=input_ids[firsts, :top], attention_mask=prefix_mask, position_ids=positions, use_cache=True
        ).past_key_values
        cache.batch_select_indices(group_of)  # one copy of its group's prefix per row
        extra["past_key_values"] = cache
    generated = model.generate(input_ids=input_ids, attention_mask=attention, **settings, **extra)
    return [generated[row, top + width :].tolist() for row in range(len(prompts))]


def _ids(encoded) -> list[int]:
    # transformers >= 5 returns a BatchEncoding from apply_chat_template(tokenize=True); 4.x a list.
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)
