"""xquad: extractive QA in 12 languages (XQuAD, Artetxe et al. 2020), generation scored like SQuAD v1.1.

The model gets the context and question in one instruction (in English, or in the evaluation
language with `prompt_language: native`: `tasks/prompts.py`) and answers freely; EM and F1 follow
the official SQuAD v1.1 script, which XQuAD's README prescribes for every language (no word
segmentation for zh/th), or MLQA's per-language normalisation (`normalization: mlqa`, where
MLQA defines the language). Corpus values are in [0, 1] here (the script's x100 is dropped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, qa_scores, require
from xinstruct.evaluate.tasks.prompts import qa_prompt

VERSION = 1
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
MLQA_LANGUAGES = ("en", "es", "de", "vi", "ar", "hi", "zh")


@dataclass(frozen=True)
class XQuAD:
    name: str = "xquad"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "question"  # the text the contamination check compares
    fidelity: bool = True  # answers should be in the evaluation language: lingua checks them
    languages: tuple[str, ...] = LANGUAGES
    normalization: str = "squad"  # squad | mlqa

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        path = require(data_root(ctx.data_dir) / "xquad" / f"xquad.{lang}.json", self.name)
        rows = []
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    prompt = qa_prompt(ctx.prompt_language, lang, paragraph["context"], qa["question"], self.name)
                    rows.append(
                        {
                            "id": qa["id"],
                            "messages": [{"role": "user", "content": prompt}],
                            "golds": [a["text"] for a in qa["answers"]],
                            "question": qa["question"],
                        }
                    )
        return limited(rows, ctx)

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.metrics import mlqa_em_f1, squad_em_f1

        if self.normalization == "mlqa" and lang in MLQA_LANGUAGES:
            return qa_scores(rows, predictions, lambda pred, golds: mlqa_em_f1(pred, golds, lang))
        return qa_scores(rows, predictions, squad_em_f1)


xquad = XQuAD()
