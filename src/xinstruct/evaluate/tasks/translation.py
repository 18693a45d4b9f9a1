"""ntrex: English -> x translation of the NTREX-128 news test set, chrF and BLEU (sacrebleu).

The request is "Translate the following text into <language>." (the translation demonstrations'
phrasing; in the target language itself with `prompt_language: native`) and the sentence;
greedy. Corpus chrF (sacrebleu defaults) and BLEU with the target language's tokenizer (zh,
ja-mecab, ko-mecab where installed); scores in [0, 1] (sacrebleu's / 100).
"""

from __future__ import annotations

from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require
from xinstruct.evaluate.tasks.prompts import translation_request

VERSION = 1
LANGUAGES = ("ar", "de", "el", "es", "hi", "it", "ja", "ko", "ru", "th", "tr", "vi", "zh-CN")


@dataclass(frozen=True)
class NTREX:
    name: str = "ntrex"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "source_text"  # the text the contamination check compares
    fidelity: bool = True  # answers should be in the evaluation language: lingua checks them
    languages: tuple[str, ...] = LANGUAGES

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        from xinstruct.data.parallel import read_per_language

        lang = check_language(self.name, lang, self.languages)
        directory = require(data_root(ctx.data_dir) / "ntrex" / "NTREX-128", self.name)
        request = translation_request(ctx.prompt_language, lang)
        rows = [
            {
                "id": pair.id,
                "messages": [{"role": "user", "content": f"{request}\n\n{pair.source}"}],
                "answer": pair.target,
                "source_text": pair.source,
            }
            for pair in read_per_language(directory, "en", lang)
        ]
        return limited(rows, ctx)

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.metrics import bleu, chrf

        references = [row["answer"] for row in rows]
        c = chrf(predictions, references)
        b = bleu(predictions, references, target_lang=lang)
        return {"chrf": c["score"] / 100, "bleu": b["score"] / 100}, [{} for _ in rows]


ntrex = NTREX()
