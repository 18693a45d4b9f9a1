"""cross_mmlu, cross_logiqa: SeaEval's parallel questions in 7 languages, with consistency and AC3.

Each question is asked in every language as multiple choice scored by log-likelihood (the
choice strings, "(A) ...", scored after the question); the chosen choice is the deterministic
stand-in for SeaEval's LLM-judge alignment (SPEC-metrics.md §3). Per language: acc. Across the
evaluated languages (language "all"): SeaEval's overall accuracy (macro over languages),
Consistency_3 and AC3_3 (headline k=3), and Consistency_k/AC3_k for every k from 2 to L.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "id": "Indonesian",
    "fil": "Filipino",
    "es": "Spanish",
    "vi": "Vietnamese",
    "ms": "Malay",
}


@dataclass(frozen=True)
class SeaEvalCross:
    name: str
    file: str
    version: int = VERSION
    kind: str = "multiple_choice"
    prompt_field: str = "context"  # the text the contamination check compares
    languages: tuple[str, ...] = tuple(LANGUAGE_NAMES)
    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        check_language(self.name, lang, self.languages)
        path = require(data_root(ctx.data_dir) / "seaeval" / self.file, self.name)
        rows = []
        for doc in json.loads(path.read_text(encoding="utf-8")):
            item = doc[LANGUAGE_NAMES[lang]]
            context = f"{item['context'].strip()}\n\n" if item.get("context") else ""
            question = context + item["question"].strip() + "\n" + "\n".join(item["choices"]) + "\nAnswer:"
            rows.append(
                {
                    "id": str(doc["id"]),
                    "context": question,
                    "choices": list(item["choices"]),
                    "gold": item["choices"].index(item["answer"]),
                }
            )
        return limited(rows, ctx)

    def aggregate(self, chosen: dict[str, list[str]], answers: dict[str, list[str]]) -> dict[str, float]:
        """Metrics across languages from each language's chosen choice strings (same question order)."""
        from xinstruct.metrics import seaeval_scores

        scores = seaeval_scores(chosen, answers)  # accuracy, consistency_k and AC3_k for k = 2..L
        return {("acc" if key == "accuracy" else key.lower()): value for key, value in scores.items()}


cross_mmlu = SeaEvalCross(name="cross_mmlu", file="cross_mmlu.json")
cross_logiqa = SeaEvalCross(name="cross_logiqa", file="cross_logiqa.json")
