"""A stand-in `vllm` module for machines without vLLM or a GPU.

Its `LLM.generate` answers from the tiny HF model in fp32, one prompt at a time: prompt logprobs (vLLM's
`Logprob` per position, the prompt's token and the top one) when asked `prompt_logprobs=1`, else greedy
continuations of `max_tokens`. Each call is recorded in `calls`: ("init", LLM kwargs) and ("generate",
the prompts as given, the sampling kwargs). What the tests check is xinstruct's side of the wiring.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types


class Logprob:
    """vLLM's `Logprob`: the value, its rank among the vocabulary (1 = top) and the decoded token."""

    def __init__(self, logprob: float, rank: int):
        self.logprob, self.rank, self.decoded_token = logprob, rank, None


def install_fake_vllm(monkeypatch, model_dir, calls: list, max_model_len: int | None = None) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    vllm = types.ModuleType("vllm")
    vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    def scored(prompt: list[int]) -> types.SimpleNamespace:
        assert max_model_len is None or len(prompt) <= max_model_len
        with torch.inference_mode():
            logprobs = torch.log_softmax(hf(torch.tensor([prompt])).logits[0].float(), dim=-1)
        per_position: list = [None]  # nothing predicts the first token
        for j in range(1, len(prompt)):
            row = logprobs[j - 1]
            token, top = prompt[j], int(row.argmax())
            rank = int((row > row[token]).sum()) + 1
            per_position.append({token: Logprob(float(row[token]), rank), top: Logprob(float(row[top]), 1)})
        done = types.SimpleNamespace(token_ids=[int(logprobs[-1].argmax())])
        return types.SimpleNamespace(prompt_logprobs=per_position, outputs=[done])

    def continued(prompt: list[int], max_tokens: int) -> types.SimpleNamespace:
        ids = torch.tensor([prompt])
        with torch.inference_mode():
            out = hf.generate(ids, max_new_tokens=max_tokens, do_sample=False)
        return types.SimpleNamespace(outputs=[types.SimpleNamespace(token_ids=out[0, ids.shape[1] :].tolist())])

    class LLM:
        def __init__(self, **kwargs):
            calls.append(("init", kwargs))
            self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=max_model_len))

        def generate(self, prompts, params, use_tqdm=True, lora_request=None):
            calls.append(("generate", prompts, params.kwargs))
            ids = [p["prompt_token_ids"] for p in prompts]
            if params.kwargs.get("prompt_logprobs") == 1:
                return [scored(prompt) for prompt in ids]
            return [continued(prompt, params.kwargs["max_tokens"]) for prompt in ids]

    vllm.LLM, vllm.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)  # eval.dtype auto asks the GPU
