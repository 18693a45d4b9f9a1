"""The LM head run by xinstruct's engines themselves, only where a logit is needed.

Both engines call the decoder and then the head on the positions they need (scored tokens, each
row's last token). That is exact only for architectures whose logits are `lm_head(last hidden
state)`: no soft-capping, scaling or extra projection (Gemma 2's soft-capping, Cohere's
`logit_scale`, Granite's `logits_scaling` are not). Others use the model's own forward.

When decoding, the head runs on a few rows (one per sequence) and `head_logits` computes it as
`weight @ hidden^T`: with the vocabulary matrix as the left operand, CPU BLAS (MKL) runs it 2-3x
faster than `linear`'s `hidden @ weight^T` for 8-32 rows (measured 21.5 vs 9.8 ms for 16 rows x 32k x
384 on the 2-core CI machine; the gap closes near 512 rows, where the log-likelihood engine runs it,
so that engine keeps `linear`).
"""

from __future__ import annotations

PLAIN_HEAD = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma", "phi3", "olmo", "olmo2", "gpt2", "gpt_neox", "smollm3"}
)


def plain_head(model) -> bool:
    """Whether `head_logits(model, decoder hidden states)` are exactly the model's logits."""
    import torch

    if getattr(model.config, "model_type", None) not in PLAIN_HEAD:
        return False
    if getattr(model.config, "final_logit_softcapping", None):
        return False
    if set((getattr(model, "hf_device_map", None) or {}).values()) & {"cpu", "disk"}:
        return False  # weights offloaded by accelerate are not resident: only the model's own forward loads them
    try:
        decoder, head = model.get_decoder(), model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return False
    return decoder is not model and isinstance(head, torch.nn.Linear)


def head_logits(model, hidden):
    """Logits of 2D `hidden` (positions x hidden size), in the model's dtype (callers upcast what they need).

    With `device_map="auto"` the head may sit on another GPU than the decoder's last layer: `hidden` moves
    there (a no-op on one device)."""
    import torch

    head = model.get_output_embeddings()
    logits = torch.mm(head.weight, hidden.to(head.weight.device).T).T
    return logits if head.bias is None else logits + head.bias
