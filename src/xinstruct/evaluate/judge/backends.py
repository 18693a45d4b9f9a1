"""Who judges: a local Hugging Face model, any OpenAI-compatible chat endpoint, or the lab world (`lab.py`).

A judge answers conversations (lists of chat messages) greedily, in order. `identity` names it in
the request cache: the local model's weight fingerprint (with its dtype and device kind off the CPU's
fp32, `judge.dtype` / `judge.device`), or the endpoint's URL and model name (a served model that changes
behind the same name is the user's to re-key, e.g. with a new name).
"""

from __future__ import annotations

from pathlib import Path

from xinstruct.chat_client import ChatClient
from xinstruct.errors import ConfigError
from xinstruct.evaluate.device import Placement, resolve_placement


class HFJudge:
    def __init__(self, model: str | Path, max_new_tokens: int, batch_size: int, placement: Placement | None = None):
        self.model_path, self.max_new_tokens, self.batch_size = str(model), max_new_tokens, batch_size
        self.placement = placement or resolve_placement(where="judge")
        self._loaded = None

    def identity(self, cache) -> str:
        """The model, plus its dtype and device kind unless CPU fp32 (the identity judges had before these
        settings existed, so their cached verdicts stay valid)."""
        tag = self.placement.cache_tag()
        who = cache.fingerprint(self.model_path) if cache is not None else self.model_path
        return f"judge:hf:{who}" if tag == "torch.float32" else f"judge:hf:{who}:{tag}"

    def answer(self, conversations: list[list[dict]], description: str = "judging") -> list[str]:
        from xinstruct.evaluate.generate import generate
        from xinstruct.evaluate.runner import load_model

        if self._loaded is None:
            model, tokenizer = load_model(Path(self.model_path), placement=self.placement)
            if not tokenizer.chat_template:
                raise ConfigError(f"judge model {self.model_path} has no chat template: use an instruction-tuned model")
            self._loaded = model, tokenizer
        model, tokenizer = self._loaded
        return generate(model, tokenizer, conversations, self.max_new_tokens, self.batch_size, description)


class HTTPJudge:
    def __init__(self, base_url: str, model: str, api_key_env: str, max_retries: int, timeout: float,
                 concurrency: int, max_tokens: int):  # fmt: skip
        self.client = ChatClient(base_url, model, api_key_env, max_retries, timeout, who="judge")
        self.concurrency, self.max_tokens = concurrency, max_tokens

    def identity(self, cache) -> str:
        return f"judge:openai:{self.client.url}:{self.client.model}"

    def answer(self, conversations: list[list[dict]], description: str = "judging") -> list[str]:
        return self.client.complete_many(conversations, self.concurrency, self.max_tokens)  # in order


def make_judge(cfg, base_model: Path | None):
    if cfg.backend == "lab":  # exact verdicts from the lab world (lab.py)
        from xinstruct.evaluate.judge.lab import LabJudge

        if base_model is None:
            raise ConfigError("judge.backend: lab needs the lab base model (model: lab)")
        return LabJudge.for_model(base_model)
    if cfg.backend == "openai":
        return HTTPJudge(cfg.base_url, cfg.model, cfg.api_key_env, cfg.max_retries, cfg.timeout, cfg.concurrency,
                         cfg.max_tokens)  # fmt: skip
    model = cfg.model
    if model == "lab":
        if base_model is None:
            raise ConfigError("judge.model: lab needs the lab base model (model: lab)")
        model = base_model
    placement = resolve_placement(cfg.device, cfg.dtype, cfg.device_map, lab=cfg.model == "lab", where="judge")
    return HFJudge(model, cfg.max_tokens, cfg.batch_size, placement)
