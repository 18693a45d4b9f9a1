"""Stand-ins for tests: a translation backend that tags texts ("[de] ...") and counts its calls."""

from __future__ import annotations

from xinstruct.data.translate import Translator
from xinstruct.data.translate.backends import Backend


class TagBackend(Backend):
    name = "tag"
    cacheable = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def cache_model(self, src: str, tgt: str) -> str:
        return "tag"

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.calls.append((src, tgt, len(texts)))
        return [f"[{tgt}] {text}" for text in texts]


def tag_translator() -> Translator:
    return Translator(TagBackend(), None, batch_size=64, progress=False)
