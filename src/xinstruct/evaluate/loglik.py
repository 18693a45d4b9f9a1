"""Log-likelihood of continuations given contexts, as lm-evaluation-harness defines it.

For a request (context, continuation) (SPEC-metrics.md §4):
- trailing whitespace of the context moves to the front of the continuation;
- whole = encode(context + continuation), context_ids = encode(context), continuation_ids =
  whole[len(context_ids):] (a token merging across the boundary belongs to the continuation);
  `encode` uses the tokenizer's default special tokens (BOS for Llama-style models);
- an empty context scores the continuation (no special tokens) after the prefix token (BOS, else EOS);
- ll = sum of log-softmax probabilities of the continuation tokens; is_greedy = every argmax matches.
The choices of one context share one row: the context is computed once, the continuations follow
as a prefix tree (a beginning several of them share is computed once; each token attends to the
context and its own continuation's earlier tokens, positions restarting after the context), and the
LM head runs once per position where a token is scored; rows are batched longest first. Models
whose head cannot be applied to hidden states directly (logit soft-capping) or other attention
kernels use one left-padded row per request with `logits_to_keep` instead. With a request cache,
cached requests are answered from it and only the misses go to the model (still length-sorted and
batched); each batch is committed to the cache as soon as it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from xinstruct.evaluate.device import input_device
from xinstruct.evaluate.lm_head import plain_head
from xinstruct.progress import progress_bar

if TYPE_CHECKING:
    from xinstruct.evaluate.cache import TaskCache
    from xinstruct.evaluate.parallel import Shards

ENGINE = "loglikelihood/3"  # bump when the scoring below changes: invalidates cached log-likelihoods
VLLM_ENGINE = "vllm-loglikelihood/1"  # vLLM's prompt logprobs (`VLLMEngine.loglikelihood_ids`), cached apart


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    stripped = context.rstrip()
    if stripped != context:
        continuation = context[len(stripped) :] + continuation
        context = stripped
    if not context:
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        return ([prefix], cont[1:]) if cont and cont[0] == prefix else ([prefix], cont)
    whole = tokenizer(context + continuation)["input_ids"]
    context_ids = tokenizer(context)["input_ids"]
    return whole[: len(context_ids)], whole[len(context_ids) :]


def loglikelihoods(
    model,
    tokenizer,
    requests: list[tuple[str, str]],
    batch_size: int = 32,
    description: str = "scoring",
    cache: TaskCache | None = None,
    examples: Sequence[str] | None = None,
    shards: Shards | None = None,
) -> list[tuple[float, bool]]:
    """(log-likelihood, is_greedy) of each (context, continuation), in input order.

    `cache` answers the requests it has (keyed by `examples`, the example ids, and the request) and
    stores the rest batch by batch. `shards` (data-parallel evaluation, `xinstruct.evaluate.parallel`):
    this rank scores its share of the batches a single process would run, and gets everyone's results.
    `model` may also be a `VLLMEngine`: the same requests, scored from vLLM's prompt logprobs.
    """
    import torch

    from xinstruct.evaluate.cache import materialize, request_key
    from xinstruct.evaluate.parallel import Shards

    shards = shards or Shards()
    vllm = getattr(model, "is_vllm", False)
    engine = VLLM_ENGINE if vllm else ENGINE
    examples = list(examples) if examples is not None else [""] * len(requests)
    keys = [
        (example, request_key({"engine": engine, "context": ctx, "continuation": cont}))
        for example, (ctx, cont) in zip(examples, requests, strict=True)
    ]
    found = shards.lookup(cache, keys)
    results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
    for i, key in enumerate(keys):
        if key in found:
            results[i] = (float(found[key][0]), bool(found[key][1]))
    todo = [i for i, key in enumerate(keys) if key not in found]
    if not todo:
        return results
    model = materialize(model)
    pairs = {i: encode_pair(tokenizer, *requests[i]) for i in todo}
    if cache is not None:
        description = f"{description} ({len(requests) - len(todo)} cached)"
    if vllm:
        batches, score = _vllm_plan(model, pairs, todo)
    else:
        model.eval()
        batches, score = _hf_plan(model, tokenizer, pairs, todo, batch_size)
    bar = progress_bar()
    bar.disable = not shards.is_main  # one bar per evaluation, not one per rank
    mine: dict[int, tuple[float, bool]] = {}
    with bar, torch.inference_mode():
        task = bar.add_task(description, total=len(requests), completed=len(requests) - len(todo))
        for b in shards.mine(len(batches)):
            scored = score(batches[b])
            mine.update(scored)
            # one commit per batch: a killed run loses at most this batch
            shards.commit(cache, [(keys[i], list(value)) for i, value in scored.items()])
            bar.update(task, advance=len(scored))
        merged = shards.merge(mine, cache, keys)
        bar.update(task, completed=len(requests))
    for i, value in merged.items():
        results[i] = value
    return results


def _hf_plan(model, tokenizer, pairs: dict, todo: list[int], batch_size: int) -> tuple[list, Callable]:
    """The HF engine's batches (a pure function of the requests: every rank plans the same) and their scorer."""
    device = input_device(model)
    max_length = getattr(model.config, "max_position_embeddings", None) or 2048
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if _can_share_contexts(model) and all(len(pairs[i][0]) + len(pairs[i][1]) <= max_length for i in todo):
        groups: dict[tuple[int, ...], list[int]] = {}  # choices of one context in one row: the context computed once
        for i in todo:
            groups.setdefault(tuple(pairs[i][0]), []).append(i)
        rows = sorted(groups.values(), key=lambda g: -_tree_length(pairs, g))
        per_batch = max(1, round(batch_size * len(rows) / len(todo)))  # about batch_size requests per batch
        batches = [rows[start : start + per_batch] for start in range(0, len(rows), per_batch)]
        return batches, lambda batch: _score_trees(model, pairs, batch, pad)
    inputs = {i: (ctx + cont)[-(max_length + 1) :][:-1] for i, (ctx, cont) in pairs.items()}
    order = sorted(todo, key=lambda i: -len(inputs[i]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    return batches, lambda idx: _score_padded(model, pairs, inputs, idx, pad, device)


def _vllm_plan(engine, pairs: dict, todo: list[int]) -> tuple[list, Callable]:
    """vLLM schedules its own batches: chunks of the requests, each one call (and one cache commit)."""
    from xinstruct.evaluate.generate import VLLM_CHUNK

    batches = [todo[start : start + VLLM_CHUNK] for start in range(0, len(todo), VLLM_CHUNK)]
    return batches, lambda idx: dict(zip(idx, engine.loglikelihood_ids([pairs[i] for i in idx]), strict=True))


def _score_padded(model, pairs: dict, inputs: dict, idx: list[int], pad: int, device) -> dict[int, tuple[float, bool]]:
    """One left-padded row per request, the model's own forward with logits for the scored positions only."""
    import torch

    width = max(len(inputs[i]) for i in idx)
    keep = max(len(pairs[i][1]) for i in idx)
    input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
    attention = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):  # left padding: every continuation ends at the last position
        input_ids[row, width - len(inputs[i]) :] = torch.tensor(inputs[i])
        attention[row, width - len(inputs[i]) :] = 1
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    # logits only for the last `keep` positions: no log-softmax over the whole sequence x vocabulary
    logits = model(
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        logits_to_keep=keep,
    )
    logprobs = torch.log_softmax(logits.logits.float(), dim=-1)  # float32 whatever the model's dtype
    out = {}
    for row, i in enumerate(idx):
        cont = torch.tensor(pairs[i][1], device=logprobs.device)
        scored = logprobs[row, keep - len(cont) :]
        ll = float(scored.gather(-1, cont[:, None]).sum())
        out[i] = (ll, bool((scored.argmax(-1) == cont).all()))
    return out


def _can_share_contexts(model) -> bool:
    """Shared-context rows need the decoder's hidden states, a plain LM head and 4D attention masks."""
    return plain_head(model) and getattr(model.config, "_attn_implementation", "sdpa") in ("sdpa", "eager")


def _tree_length(pairs: dict, group: list[int]) -> int:
    return len(pairs[group[0]][0]) + len(_prefix_tree(pairs, group)[0])


def _prefix_tree(pairs: dict, group: list[int]) -> tuple[list[tuple[int, int]], dict[int, list[int]]]:
    """The continuations of one context as a prefix tree, without their last tokens (nothing is scored
    after them): nodes as (token, parent node or -1 for the context), and for each request the nodes
    whose outputs predict its tokens after the first (a shared beginning is one path of nodes)."""
    nodes: list[tuple[int, int]] = []
    children: dict[tuple[int, int], int] = {}
    paths: dict[int, list[int]] = {}
    for i in group:
        parent, path = -1, []
        for token in pairs[i][1][:-1]:
            parent = children.setdefault((parent, token), len(nodes))
            if parent == len(nodes):
                nodes.append((token, path[-1] if path else -1))
            path.append(parent)
        paths[i] = path
    return nodes, paths


def _score_trees(model, pairs: dict, groups: list[list[int]], pad: int) -> dict[int, tuple[float, bool]]:
    """Score each group's continuations in one row: the context, then the continuations as a prefix
    tree (`_prefix_tree`; a beginning shared by several continuations is computed once), each node
    seeing the context and its ancestors only, positions restarting after the context. The LM head
    runs once per distinct position (a context's last position serves all its continuations)."""
    import torch

    trees = [_prefix_tree(pairs, g) for g in groups]
    width = max(len(pairs[g[0]][0]) + len(nodes) for g, (nodes, _) in zip(groups, trees, strict=True))
    input_ids = torch.full((len(groups), width), pad, dtype=torch.long)
    positions = torch.zeros((len(groups), width), dtype=torch.long)
    allowed = torch.zeros((len(groups), 1, width, width), dtype=torch.bool)
    scored: dict[tuple[int, int], int] = {}  # (row, column) whose logits are needed -> head row
    where: dict[int, list[int]] = {}  # request -> head rows predicting its tokens
    for row, (group, (nodes, paths)) in enumerate(zip(groups, trees, strict=True)):
        context = pairs[group[0]][0]
        n = len(context)
        input_ids[row, :n] = torch.tensor(context)
        positions[row, :n] = torch.arange(n)
        allowed[row, 0, :n, :n] = torch.tril(torch.ones(n, n, dtype=torch.bool))
        for node, (token, parent) in enumerate(nodes):  # parents come before their children
            column = n + node
            input_ids[row, column] = token
            positions[row, column] = positions[row, n + parent] + 1 if parent >= 0 else n
            allowed[row, 0, column] = allowed[row, 0, n + parent] if parent >= 0 else allowed[row, 0, n - 1]
            allowed[row, 0, column, column] = True
        end = n + len(nodes)
        allowed[row, 0, end:, end:] = torch.eye(width - end, dtype=torch.bool)  # padding sees itself only
        for i in group:
            columns = [n - 1, *(n + node for node in paths[i])][: len(pairs[i][1])]  # none if it is empty
            where[i] = [scored.setdefault((row, column), len(scored)) for column in columns]
    if not scored:  # only empty continuations: nothing to score
        return {i: (0.0, True) for i in where}
    device = input_device(model)  # built on the CPU, moved once (no-ops there)
    mask = allowed.to(device)
    if model.config._attn_implementation == "eager":
        floor = torch.finfo(model.dtype).min
        mask = torch.zeros(mask.shape, dtype=model.dtype, device=device).masked_fill(~mask, floor)
    decoder = model.get_decoder()
    hidden = decoder(
        input_ids=input_ids.to(device), attention_mask=mask, position_ids=positions.to(device)
    ).last_hidden_state
    rows, columns = (torch.tensor(side, device=hidden.device) for side in zip(*scored, strict=True))
    # one head call; log-softmax in float32 whatever the model's dtype (a bf16 head's logits are upcast first)
    logprobs = torch.log_softmax(model.get_output_embeddings()(hidden[rows, columns]).float(), dim=-1)
    index = torch.tensor([k for i in where for k in where[i]], device=logprobs.device)
    targets = torch.tensor([t for i in where for t in pairs[i][1]], device=logprobs.device)
    token_ll = logprobs[index, targets].cpu()  # one device-to-host copy, not one per request
    greedy = (logprobs.argmax(-1)[index] == targets).cpu()
    out, start = {}, 0
    for i in where:
        end = start + len(pairs[i][1])
        out[i] = (float(token_ll[start:end].sum()), bool(greedy[start:end].all()))
        start = end
    return out
