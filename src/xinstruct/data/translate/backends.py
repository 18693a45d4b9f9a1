"""Translation backends: the lab's exact translator, HF seq2seq MT models, OpenAI-compatible chat endpoints.

A backend translates a batch of short prose segments (no code, URLs or placeholders: see
`protect`) from one language to another. Caching, batching and order are the `Translator`'s job.
"""

from __future__ import annotations

from xinstruct.chat_client import ChatClient
from xinstruct.config import TranslatorConfig
from xinstruct.errors import ConfigError, DataError
from xinstruct.languages import display_name, flores_code, language_subtag
from xinstruct.progress import warn


class Backend:
    """Translate batches of prose segments; `cache_model` names the model in cache keys."""

    name = "backend"
    cacheable = True  # results go to the translation cache (and a progress bar is shown)
    # segments the Translator may have in flight at once, each its own `translate_batch([segment])` call
    # from a worker thread (a backend that sets it > 1 must be thread-safe); 1: batches, one at a time
    concurrency = 1

    def check_pair(self, src: str, tgt: str) -> None:
        """Raise DataError if this backend cannot translate src -> tgt; cheap (loads no model)."""

    def cache_model(self, src: str, tgt: str) -> str:
        raise NotImplementedError

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        raise NotImplementedError


# -- the lab --------------------------------------------------------------------------------------


class LabBackend(Backend):
    """The lab world's exact translator: English lab sentences into any language of the world.

    Not cached: it is exact, instant and determined by the world (seed), not by a model name.
    """

    name = "lab"
    cacheable = False

    def __init__(self, world_config=None):
        self._world_config = world_config
        self._world = None

    @property
    def world(self):
        if self._world is None:
            from xinstruct.lab.world import World, WorldConfig

            self._world = World(self._world_config or WorldConfig())
        return self._world

    def check_pair(self, src: str, tgt: str) -> None:
        if src != "en":
            raise DataError(
                f"translator backend lab translates English lab text only, not {src!r}; "
                "use backend hf or openai for other source languages"
            )
        languages = self.world.config.languages
        if tgt not in languages:
            raise DataError(f"translator backend lab: {tgt!r} is not a language of the lab world {list(languages)}")

    def cache_model(self, src: str, tgt: str) -> str:
        return f"lab-world-{self.world.config.seed}"

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        out = []
        for text in texts:
            try:
                out.append(self.world.translate(text, tgt))
            except (ValueError, KeyError) as e:
                raise DataError(
                    f"translator backend lab: cannot translate {text[:80]!r} ({e}); it only knows lab sentences, "
                    "use backend hf or openai for other text"
                ) from None
        return out


# -- language codes (xinstruct.languages owns them; these names stay for callers and tests) ---------------


def short_code(tag: str) -> str:
    """The language subtag (ISO 639-1 where one exists): M2M100 codes and Marian model names. zh-Hans -> zh."""
    return language_subtag(tag)


def language_name(tag: str) -> str:
    """The whole tag's English name and the tag, "Chinese (Traditional) (zh-Hant)", for a system prompt."""
    name = display_name(tag, detailed=True)
    return tag if name == tag else f"{name} ({tag})"


# -- Hugging Face seq2seq MT models ---------------------------------------------------------------


class HFBackend(Backend):
    """Any seq2seq MT model: Marian (one per pair, `model` may be a {src}/{tgt} pattern), NLLB, M2M100.

    NLLB gets FLORES-200 codes (`tokenizer.src_lang`, `forced_bos_token_id`), M2M100 ISO 639-1
    codes (`tokenizer.src_lang`, `get_lang_id`); Marian needs none. One model is loaded at a time.
    """

    name = "hf"

    def __init__(self, cfg: TranslatorConfig):
        self.cfg = cfg
        self._loaded: tuple[str, object, object, str] | None = None  # (name, tokenizer, model, kind)
        self._warned_truncation = False

    def model_name(self, src: str, tgt: str) -> str:
        return self.cfg.model.replace("{src}", short_code(src)).replace("{tgt}", short_code(tgt))

    def cache_model(self, src: str, tgt: str) -> str:
        # decoding settings change the output, so they are part of the model's identity
        return f"{self.model_name(src, tgt)}|num_beams={self.cfg.num_beams}|max_length={self.cfg.max_length}"

    def _load(self, src: str, tgt: str):
        name = self.model_name(src, tgt)
        if self._loaded is not None and self._loaded[0] == name:
            return self._loaded[1:]
        self._loaded = None
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        remote = self.cfg.trust_remote_code
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=remote)
            model = AutoModelForSeq2SeqLM.from_pretrained(name, use_safetensors=True, trust_remote_code=remote)
        except (OSError, ValueError, ImportError) as e:
            raise ConfigError(
                f"field data.translator.model: cannot load {name!r} as a seq2seq translation model "
                f"(a local directory, or a hub id with network access or in the HF cache, with safetensors "
                f"weights): {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            ) from None
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model.to(device).eval()
        if hasattr(tokenizer, "get_lang_id"):
            kind = "m2m100"
        elif _has_token(tokenizer, "eng_Latn"):
            kind = "nllb"
        else:
            kind = "plain"
        self._loaded = (name, tokenizer, model, kind)
        return tokenizer, model, kind

    def _language_args(self, src: str, tgt: str) -> dict:
        tokenizer, _, kind = self._load(src, tgt)
        if kind == "nllb":
            codes = flores_code(src), flores_code(tgt)
            for tag, code in zip((src, tgt), codes, strict=True):
                if not _has_token(tokenizer, code):
                    raise DataError(f"model {self.model_name(src, tgt)!r}: no FLORES-200 code {code!r} (for {tag!r})")
            tokenizer.src_lang = codes[0]
            return {"forced_bos_token_id": tokenizer.convert_tokens_to_ids(codes[1])}
        if kind == "m2m100":
            codes = short_code(src), short_code(tgt)
            try:
                tokenizer.src_lang = codes[0]
                return {"forced_bos_token_id": tokenizer.get_lang_id(codes[1])}
            except KeyError as e:
                raise DataError(f"model {self.model_name(src, tgt)!r}: no M2M100 language code {e}") from None
        return {}

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        import torch

        tokenizer, model, _ = self._load(src, tgt)
        extra = self._language_args(src, tgt)
        n = self.cfg.max_length
        enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=n).to(model.device)
        truncated = int((enc["attention_mask"].sum(dim=1) >= n).sum())
        if truncated and not self._warned_truncation:
            self._warned_truncation = True
            warn(f"translator: {truncated} segment(s) reached max_length={n} tokens and were truncated")
        with torch.inference_mode():
            out = model.generate(**enc, num_beams=self.cfg.num_beams, do_sample=False, max_new_tokens=n, **extra)
        return [text.strip() for text in tokenizer.batch_decode(out, skip_special_tokens=True)]


def _has_token(tokenizer, token: str) -> bool:
    token_id = tokenizer.convert_tokens_to_ids(token)
    return token_id is not None and token_id != tokenizer.unk_token_id


# -- OpenAI-compatible chat endpoints -------------------------------------------------------------

SYSTEM_PROMPT = (
    "You are a translation engine. Translate the user's message from {src} to {tgt}. Reply with the "
    "translation only: no explanations, notes, quotes or alternatives. Keep the meaning, tone and formatting."
)


class OpenAIBackend(Backend):
    """An OpenAI-compatible chat endpoint (`xinstruct.chat_client`), one segment per request, up to
    `concurrency` requests in flight (a served model batches concurrent requests: the throughput).

    The API key is read from the environment variable `api_key_env` at request time and only ever
    put in the Authorization header: never logged, cached or written anywhere.
    """

    name = "openai"

    def __init__(self, cfg: TranslatorConfig):
        self.cfg = cfg
        self.concurrency = cfg.concurrency
        self.client = ChatClient(cfg.base_url, cfg.model, cfg.api_key_env, cfg.max_retries, cfg.timeout,
                                 who="translator")  # fmt: skip

    def cache_model(self, src: str, tgt: str) -> str:
        return self.cfg.model

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        system = SYSTEM_PROMPT.format(src=language_name(src), tgt=language_name(tgt))
        conversations = [[{"role": "system", "content": system}, {"role": "user", "content": text}] for text in texts]
        return [self.client.complete(c) for c in conversations]  # the Translator keeps `concurrency` in flight


def make_backend(cfg: TranslatorConfig, world_config=None) -> Backend:
    if cfg.backend == "lab":
        return LabBackend(world_config)
    if cfg.backend == "hf":
        return HFBackend(cfg)
    return OpenAIBackend(cfg)
