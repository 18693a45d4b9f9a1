"""Generation through vLLM, used when vLLM is installed and a GPU is present (`pip install vllm`).

vLLM batches continuously and shares KV blocks between prompts with a common prefix (passages asked
several questions), which is what a GPU needs; on CPU and without vLLM the HF engine
(`xinstruct.evaluate.generate`) runs. Prompts are tokenized by xinstruct (the same chat template as
the HF engine) and sent as token ids; decoding is greedy with the task's stop strings, and the
completion's token ids are decoded and cut at stop strings exactly as the HF engine does, so only
the forward passes differ. Multiple-choice tasks (log-likelihoods) always run on the HF engine.
A LoRA adapter directory is served on its base model through vLLM's LoRA support.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

from xinstruct.errors import ConfigError

ENGINES = ("auto", "hf", "vllm")


def vllm_available() -> bool:
    """vLLM installed and a CUDA device present."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_engine(engine: str) -> str:
    """`auto` -> `vllm` where it can run, else `hf`; asking for `vllm` where it cannot is an error."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {list(ENGINES)}, not {engine!r}")
    if engine == "hf":
        return "hf"
    if vllm_available():
        return "vllm"
    if engine == "vllm":
        raise ConfigError("engine vllm needs vLLM installed (pip install vllm) and a CUDA GPU; use engine hf or auto")
    return "hf"


class VLLMEngine:
    """One vLLM instance for one model directory (or adapter directory on its base model)."""

    is_vllm = True

    def __init__(self, model_dir: Path, seed: int = 0, trust_remote_code: bool = False):
        from vllm import LLM

        model_dir = Path(model_dir)
        adapter = model_dir / "adapter_config.json"
        self.lora = None
        if adapter.exists():
            from vllm.lora.request import LoRARequest

            base = json.loads(adapter.read_text())["base_model_name_or_path"]
            self.llm = LLM(model=base, seed=seed, trust_remote_code=trust_remote_code, enable_lora=True)
            self.lora = LoRARequest("adapter", 1, str(model_dir))
        else:
            self.llm = LLM(
                model=str(model_dir), seed=seed, trust_remote_code=trust_remote_code, enable_prefix_caching=True
            )

    def generate_ids(self, prompts: list[list[int]], max_new_tokens: int, stop: Sequence[str]) -> list[list[int]]:
        """Greedy completions (token ids) of tokenized prompts, in order."""
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=list(stop) or None)
        outputs = self.llm.generate(
            [{"prompt_token_ids": ids} for ids in prompts], params, use_tqdm=False, lora_request=self.lora
        )
        return [list(out.outputs[0].token_ids) for out in outputs]
