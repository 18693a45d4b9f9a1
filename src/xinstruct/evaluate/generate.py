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

from xinstruct.evaluate.device import input_device
from xinstruct.evaluate.lm_head import head_logits, plain_head
from xinstruct.progress import progress_bar

if TYPE_CHECKING:
    from xinstruct.evaluate.cache import TaskCache
    from xinstruct.evaluate.parallel import Shards

ENGINE = "generate/3"  # bump when the decoding or post-processing below changes: invalidates cached outputs
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
    shards: Shards | None = None,
) -> list[str]:
    """Greedy completions of chat `prompts` (lists of messages), in the same order.

    `stop` strings end a completion (generation halts once one appears) and are cut off with
    everything after them, as lm-evaluation-harness's `until` does.

    `cache` answers the prompts it has (keyed by `examples`, the example ids, and the request) and
    stores the rest batch by batch. `shards` (data-parallel evaluation, `xinstruct.evaluate.parallel`):
    this rank generates its share of the batches a single process would run, and gets everyone's answers.
    """
    import torch

    from xinstruct.evaluate.cache import materialize, request_key
    from xinstruct.evaluate.parallel import Shards

    shards = shards or Shards()
    examples = list(examples) if examples is not None else [""] * len(prompts)
    vllm = getattr(model, "is_vllm", False)
    asked = {
        "engine": VLLM_ENGINE if vllm else ENGINE,
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        **({"stop": list(stop)} if stop else {}),
    }
    keys = [(example, request_key({**asked, "messages": p})) for example, p in zip(examples, prompts, strict=True)]
    found = shards.lookup(cache, keys)
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
    }
    bar = progress_bar()
    bar.disable = not shards.is_main  # one bar per evaluation, not one per rank
    mine: dict[int, str] = {}
    with bar, torch.inference_mode():
        task = bar.add_task(description, total=len(prompts), completed=len(prompts) - len(todo))
        if vllm or not todo:
            batches = [(todo[k : k + VLLM_CHUNK], []) for k in range(0, len(todo), VLLM_CHUNK)]
        else:
            model.eval()
            batches = plan_batches(encoded, batch_size)  # every rank plans the same: it depends on the prompts only
        for b in shards.mine(len(batches)):
            idx, shared = batches[b]
            if vllm:
                generated = model.generate_ids([encoded[i] for i in idx], max_new_tokens, stop)
            else:
                generated = _generate_batch(model, [encoded[i] for i in idx], shared, pad, settings, tokenizer, stop)
            for i, tokens in zip(idx, generated, strict=True):
                text = tokenizer.decode(tokens, skip_special_tokens=True)
                for end in stop:
                    text = text.split(end)[0]
                mine[i] = text.strip()
            # one commit per batch: a killed run loses at most this batch
            shards.commit(cache, [(keys[i], mine[i]) for i in idx])
            bar.update(task, advance=len(idx))
        if todo:
            for i, text in shards.merge(mine, cache, keys).items():
                outputs[i] = text
        bar.update(task, completed=len(prompts))
    return outputs


MIN_SHARED = 32  # tokens: a shorter common prefix is not worth a separate batch


def plan_batches(encoded: dict[int, list[int]], batch_size: int) -> list[tuple[list[int], list[int]]]:
    """Batches of prompt indices, with the length of the prefix each prompt shares with its group.

    Prompts sharing a long prefix (XQuAD's questions about one passage) form a group whose prefix
    is computed once per batch; groups fill batches of `batch_size` rows, a group that does not fit
    continuing in the next batch (every batch full: decoding costs per batch, not per row). Prompts
    that share nothing are batched longest first, as plain left-padded rows (shared length 0).
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
    for group, shared in shared_groups:  # fill every batch: a group that does not fit continues in the next
        rest = list(group)
        while rest:
            if not batches or len(batches[-1][0]) == batch_size:
                batches.append(([], []))
            part, rest = rest[: batch_size - len(batches[-1][0])], rest[batch_size - len(batches[-1][0]) :]
            batches[-1][0].extend(part)
            batches[-1][1].extend([shared] * len(part))
    singles = sorted((g[0] for g in groups if len(g) == 1), key=lambda i: -len(encoded[i]))
    while batches and len(batches[-1][0]) < batch_size and singles and len(encoded[singles[0]]) > 1:
        single = singles.pop(0)  # fills the last batch as a group of one (its prompt is its own prefix)
        batches[-1][0].append(single)
        batches[-1][1].append(len(encoded[single]) - 1)
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


def _generate_batch(
    model, prompts: list[list[int]], shared: list[int], pad: int, settings: dict, tokenizer, stop: Sequence[str]
) -> list[list[int]]:
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
    device = input_device(model)  # built on the CPU, moved once (no-ops there)
    input_ids, attention = input_ids.to(device), attention.to(device)
    prefix = None
    if top:
        firsts = [
            row
            for row in range(len(prompts))
            if row == 0 or prompts[row][: shared[row]] != prompts[row - 1][: shared[row - 1]]
        ]
        group_of = torch.tensor([sum(f <= row for f in firsts) - 1 for row in range(len(prompts))], device=device)
        prefix_mask = attention[firsts, :top]
        positions = (prefix_mask.cumsum(-1) - 1).clamp(min=0)
        prefix = model.get_decoder()(  # the decoder alone: the prefix needs its KV cache, not its logits
            input_ids=input_ids[firsts, :top], attention_mask=prefix_mask, position_ids=positions, use_cache=True
        ).past_key_values
        prefix.batch_select_indices(group_of)  # one copy of its group's prefix per row
    if fast_greedy(model):
        return _greedy(model, input_ids, attention, prefix, top, settings, tokenizer, stop)
    extra = {"past_key_values": prefix} if prefix is not None else {}
    hf_settings = {**settings, **({"stop_strings": list(stop), "tokenizer": tokenizer} if stop else {})}
    generated = model.generate(input_ids=input_ids, attention_mask=attention, **hf_settings, **extra)
    return [generated[row, top + width :].tolist() for row in range(len(prompts))]


# generation_config settings that change greedy decoding; a model shipping any of them uses `model.generate`
_PROCESSORS = ("repetition_penalty", "no_repeat_ngram_size", "bad_words_ids", "suppress_tokens",
               "begin_suppress_tokens", "min_new_tokens", "min_length", "forced_bos_token_id",
               "forced_eos_token_id", "sequence_bias", "encoder_repetition_penalty")  # fmt: skip
_NEUTRAL = {"repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0, "min_length": 0}


def fast_greedy(model) -> bool:
    """Whether `_greedy` decodes this model exactly as `model.generate` would (greedy, same processors)."""
    config = getattr(model, "generation_config", None)
    if not plain_head(model) or config is None:
        return False
    return all(getattr(config, name, None) in (None, _NEUTRAL.get(name)) for name in _PROCESSORS)


def _greedy(model, input_ids, attention, prefix, top: int, settings: dict, tokenizer, stop) -> list[list[int]]:
    """The greedy loop `model.generate` runs with `settings`, without its per-step overhead.

    A static KV cache written in place (no concatenation per step and layer); the LM head only on
    each row's last position (`lm_head.head_logits`); a row ends at EOS or once its completion
    contains a stop string (checked on the completion's text, as lm-evaluation-harness does), and is
    padded from then on; the loop ends when every row has.
    """
    import torch
    from transformers import StaticCache

    rows, length = input_ids.shape
    device = input_ids.device
    max_new_tokens, eos, pad = settings["max_new_tokens"], settings["eos_token_id"], settings["pad_token_id"]
    decoder = model.get_decoder()
    cache = StaticCache(config=model.config, max_cache_len=length + max_new_tokens)
    mask = torch.cat([attention, torch.ones((rows, max_new_tokens), dtype=attention.dtype, device=device)], dim=1)
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    if prefix is not None:  # the shared prefix (positions 0..top-1), computed once per group, goes in first
        for index, layer in enumerate(prefix.layers):
            cache.update(layer.keys[:, :, :top], layer.values[:, :, :top], index)
    hidden = decoder(
        input_ids=input_ids[:, top:],
        attention_mask=mask,
        position_ids=positions[:, top:],
        past_key_values=cache,
        cache_position=torch.arange(top, length, device=device),
        use_cache=True,
    ).last_hidden_state[:, -1]
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    out: list[torch.Tensor] = []
    position = positions[:, -1:]
    for step in range(max_new_tokens):
        # bf16 logits pick what their exact fp32 upcast would (what model.generate takes the argmax of)
        token = head_logits(model, hidden).argmax(-1).to(device).masked_fill(done, pad)
        out.append(token)
        if eos is not None:
            done |= token == eos
        if stop:
            texts = tokenizer.batch_decode(torch.stack(out, 1), skip_special_tokens=True)
            done |= torch.tensor([any(s in text for s in stop) for text in texts], device=device)
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        position = position + 1
        hidden = decoder(
            input_ids=token[:, None],
            attention_mask=mask,
            position_ids=position,
            past_key_values=cache,
            cache_position=torch.tensor([length + step], device=device),
            use_cache=True,
        ).last_hidden_state[:, -1]
    return torch.stack(out, 1).tolist()


def _ids(encoded) -> list[int]:
    # transformers >= 5 returns a BatchEncoding from apply_chat_template(tokenize=True); 4.x a list.
    return list(encoded["input_ids"]) if hasattr(encoded, "keys") else list(encoded)
