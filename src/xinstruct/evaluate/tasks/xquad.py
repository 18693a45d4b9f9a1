"""xquad: extractive QA in 12 languages (XQuAD, Artetxe et al. 2020), generation scored like SQuAD v1.1.

The model gets the context and question in one instruction and answers freely; EM and F1 follow
the official SQuAD v1.1 script, which XQuAD's README prescribes for every language (no word
segmentation for zh/th), or MLQA's per-language normalisation (`normalization: mlqa`, where
MLQA defines the language). Corpus values are in [0, 1] here (the script's x100 is dropped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
MLQA_LANGUAGES = ("en", "es", "de", "vi", "ar", "hi", "zh")
INSTRUCTION = (
    "Read the passage and answer the question with a short span copied from the passage.\n\n"
    "Passage: {context}\n\nQuestion: {question}"
)


@dataclass(frozen=True)
class XQuAD:
    name: str = "xquad"
    version: int = VERSION
    kind: str = "generation"
    languages: tuple[str, ...] = LANGUAGES
    normalization: str = "squad"  # squad | mlqa

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        check_language(self.name, lang, self.languages)
        path = require(data_root(ctx.data_dir) / "xquad" / f"xquad.{lang}.json", self.name)
        rows = []
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    prompt = INSTRUCTION.format(context=paragraph["context"], question=qa["question"])
                    rows.append(
                        {
                            "id": qa["id"],
                            "messages": [{"role": "user", "content": prompt}],
                            "golds": [a["text"] for a in qa["answers"]],
                            "question": qa["question"],
                        }
                    )
        return limited(rows, ctx)

    def output_language(self, lang: str) -> str:
        """The language answers should be in (language fidelity is measured against it)."""
        return lang

    def prompts(self, exp, lang: str) -> list[str]:
        return [row["question"] for row in self.load(TaskContext(data_dir=exp.eval.data_dir), lang)]

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.metrics import mlqa_em_f1, squad_em_f1

        use_mlqa = self.normalization == "mlqa" and lang in MLQA_LANGUAGES
        details = []
        for row, pred in zip(rows, predictions, strict=True):
            em, f1 = mlqa_em_f1(pred, row["golds"], lang) if use_mlqa else squad_em_f1(pred, row["golds"])
            details.append({"exact_match": em, "f1": f1})
        n = len(rows)
        metrics = {
            "exact_match": sum(d["exact_match"] for d in details) / n,
            "f1": sum(d["f1"] for d in details) / n,
        }
        return metrics, details


xquad = XQuAD()
