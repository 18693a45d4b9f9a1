"""Who judges: a local Hugging Face model, or any OpenAI-compatible chat endpoint.

A judge answers conversations (lists of chat messages) greedily, in order. `identity` names it in
the request cache: the local model's weight fingerprint, or the endpoint's URL and model name (a
served model that changes behind the same name is the user's to re-key, e.g. with a new name).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xinstruct.chat_client import ChatClient
from xinstruct.errors import ConfigError


class HFJudge:
    def __init__(self, model: str | Path, max_new_tokens: int, batch_size: int):
        self.model_path, self.max_new_tokens, self.batch_size = str(model), max_new_tokens, batch_size
        self._loaded = None

    def identity(self, cache) -> str:
        return f"judge:hf:{cache.fingerprint(self.model_path)}" if cache is not None else f"judge:hf:{self.model_path}"

    def answer(self, conversations: list[list[dict]], description: str = "judging") -> list[str]:
        from xinstruct.evaluate.generate import generate
        from xinstruct.evaluate.runner import load_model

        if self._loaded is None:
            model, tokenizer = load_model(Path(self.model_path))
            if not tokenizer.chat_template:
                raise ConfigError(f"judge model {self.model_path} has no chat template: use an instruction-tuned model")
            self._loaded = model, tokenizer
        model, tokenizer = self._loaded
        return generate(model, tokenizer, conversations, self.max_new_tokens, self.batch_size, description)


class HTTPJudge:
    def __init__(self, base_url: str, model: str, api_key_env: str, max_retries: int, timeout: float,
                 concurrency: int, max_tokens: int, sleep=None):  # fmt: skip
        extra = {"sleep": sleep} if sleep is not None else {}
        self.client = ChatClient(base_url, model, api_key_env, max_retries, timeout, who="judge", **extra)
        self.concurrency, self.max_tokens = concurrency, max_tokens

    def identity(self, cache) -> str:
        return f"judge:openai:{self.client.url}:{self.client.model}"

    def answer(self, conversations: list[list[dict]], description: str = "judging") -> list[str]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:  # bounded concurrency, answers in order
            return list(pool.map(lambda c: self.client.complete(c, self.max_tokens), conversations))


def make_judge(cfg, base_model: Path | None):
    if cfg.backend == "openai":
        return HTTPJudge(cfg.base_url, cfg.model, cfg.api_key_env, cfg.max_retries, cfg.timeout, cfg.concurrency,
                         cfg.max_tokens)  # fmt: skip
    model = cfg.model
    if model == "lab":
        if base_model is None:
            raise ConfigError("judge.model: lab needs the lab base model (model: lab)")
        model = base_model
    return HFJudge(model, cfg.max_tokens, cfg.batch_size)
