"""Generation and multiple choice through vLLM, used when vLLM is installed and a GPU is present (`pip install vllm`).

vLLM batches continuously and shares KV blocks between prompts with a common prefix (passages asked
several questions), which is what a GPU needs; on CPU and without vLLM the HF engine
(`xinstruct.evaluate.generate`) runs. Prompts are tokenized by xinstruct (the same chat template as
the HF engine) and sent as token ids; decoding is greedy with the task's stop strings, and the
completion's token ids are decoded and cut at stop strings exactly as the HF engine does, so only
the forward passes differ. A LoRA adapter directory is served on its base model through vLLM's LoRA support.

Multiple choice (`loglikelihood_ids`) is scored as lm-evaluation-harness's vLLM backend scores it: each request's
tokens (built by `loglik.encode_pair`, exactly as for the HF engine) are sent as a prompt with
`prompt_logprobs=1`, and the log-probabilities vLLM reports for the continuation's positions are summed; a
request is greedy when each continuation token is the top-ranked one. vLLM computes the log-softmax in float32
from logits in the model's dtype (bf16 on a GPU), so its log-likelihoods differ from the fp32 HF engine's by
the model dtype's rounding: see `tests/evaluate/test_vllm_mc.py` for what is checked and what to expect.
Under torchrun / accelerate launch the HF engine runs (`auto`); vLLM runs in one process.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path

from xinstruct.errors import ConfigError
from xinstruct.evaluate.device import TORCH_DTYPES, Placement

ENGINES = ("auto", "hf", "vllm")


def vllm_available() -> bool:
    """vLLM installed and a CUDA device present."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_engine(engine: str, placement: Placement | None = None) -> str:
    """`auto` -> `vllm` where it can run, else `hf`; asking for `vllm` where it cannot is an error.

    Under a launcher (data-parallel evaluation, WORLD_SIZE > 1) `auto` is `hf` and `vllm` an error: each rank
    would start its own vLLM, which vLLM supports only through its own launcher integration, untested here.
    With the evaluation's `placement`, off a CUDA device `auto` is `hf` and `vllm` an error as well."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {list(ENGINES)}, not {engine!r}")
    off_cuda = placement is not None and placement.kind != "cuda"
    if engine == "hf" or (engine == "auto" and off_cuda):
        return "hf"
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        if engine == "vllm":
            raise ConfigError(
                "engine vllm does not run under torchrun / accelerate launch: run it in one process "
                "(vLLM batches on its GPU), or use engine hf (or auto) for data-parallel evaluation"
            )
        return "hf"
    if vllm_available():
        if off_cuda:
            device = placement.device
            raise ConfigError(f"engine vllm runs on CUDA GPUs, and the device is {device}: use engine hf or auto")
        return "vllm"
    if engine == "vllm":
        raise ConfigError("engine vllm needs vLLM installed (pip install vllm) and a CUDA GPU; use engine hf or auto")
    return "hf"


class VLLMEngine:
    """One vLLM instance for one model directory (or adapter directory on its base model)."""

    is_vllm = True

    def __init__(self, model_dir: Path, seed: int = 0, trust_remote_code: bool = False, dtype: str = "auto"):
        """`dtype`: xinstruct's resolved `eval.dtype` (bf16 | fp16 | fp32), or vLLM's own `auto`."""
        from vllm import LLM

        model_dir = Path(model_dir)
        adapter = model_dir / "adapter_config.json"
        self.lora = None
        settings = {"seed": seed, "trust_remote_code": trust_remote_code, "dtype": TORCH_DTYPES.get(dtype, dtype)}
        if adapter.exists():
            from vllm.lora.request import LoRARequest

            base = json.loads(adapter.read_text())["base_model_name_or_path"]
            self.llm = LLM(model=base, enable_lora=True, **settings)
            self.lora = LoRARequest("adapter", 1, str(model_dir))
        else:
            self.llm = LLM(model=str(model_dir), enable_prefix_caching=True, **settings)

    def generate_ids(self, prompts: list[list[int]], max_new_tokens: int, stop: Sequence[str]) -> list[list[int]]:
        """Greedy completions (token ids) of tokenized prompts, in order."""
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=list(stop) or None)
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False, lora_request=self.lora
        )
        return [list(out.outputs[0].token_ids) for out in outputs]

    def max_model_len(self) -> int | None:
        """The longest prompt vLLM takes (its `max_model_len`), where this vLLM version exposes it."""
        config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        return getattr(config, "max_model_len", None)

    def loglikelihood_ids(self, requests: Sequence[tuple[list[int], list[int]]]) -> list[tuple[float, bool]]:
        """(log-likelihood, is_greedy) of each (context ids, continuation ids), in order, from prompt logprobs.

        As lm-evaluation-harness's vLLM backend: the prompt is context + continuation (its last `max_model_len`
        tokens), one token is generated (vLLM needs one), and `prompt_logprobs=1` returns, at every position
        after the first, the logprob of the prompt's token and of the top-ranked one."""
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=1, detokenize=False)
        limit = self.max_model_len()
        prompts = [(ctx + cont)[-limit:] if limit else ctx + cont for ctx, cont in requests]
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False, lora_request=self.lora
        )
        return [
            parse_prompt_logprobs(ids, out.prompt_logprobs, max(1, len(ids) - len(cont)))
            for ids, out, (_, cont) in zip(prompts, outputs, requests, strict=True)
        ]


def parse_prompt_logprobs(tokens: Sequence[int], logprobs: Sequence, start: int) -> tuple[float, bool]:
    """Sum of the logprobs of `tokens[start:]` and whether each was the top-ranked token (lm-eval's
    `_parse_logprobs`). `logprobs[j]` maps token ids to vLLM `Logprob`s (or floats in old vLLM); the first is None."""
    total, greedy = 0.0, True
    for position in range(start, len(tokens)):
        ranked = {token: getattr(value, "logprob", value) for token, value in logprobs[position].items()}
        total += ranked[tokens[position]]
        greedy = greedy and max(ranked, key=ranked.get) == tokens[position]
    return total, greedy
