"""xcopa: causal commonsense (XCOPA, Ponti et al. 2020), multiple choice by log-likelihood.

lm-evaluation-harness's prompt: the premise without its final period, then the language's
connector for "cause"/"effect"; each choice with its first letter lowercased is scored as
" " + choice. Metric: acc (SPEC-metrics.md §4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
CONNECTORS = {
    "et": ("sest", "seetõttu"),
    "ht": ("poukisa", "donk sa"),
    "id": ("karena", "maka"),
    "it": ("perché", "quindi"),
    "qu": ("imataq", "chaymi"),
    "sw": ("kwa sababu", "kwa hiyo"),
    "ta": ("காரணமாக", "எனவே"),
    "th": ("เพราะ", "ดังนั้น"),
    "tr": ("çünkü", "bu yüzden"),
    "vi": ("bởi vì", "vì vậy"),
    "zh": ("因为", "所以"),
}


@dataclass(frozen=True)
class XCOPA:
    name: str = "xcopa"
    version: int = VERSION
    kind: str = "multiple_choice"
    prompt_field: str = "context"  # the text the contamination check compares
    languages: tuple[str, ...] = tuple(CONNECTORS)
    split: str = "test"

    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        path = require(data_root(ctx.data_dir) / "xcopa" / "data" / lang / f"{self.split}.{lang}.jsonl", self.name)
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            cause, effect = CONNECTORS[lang]
            connector = cause if doc["question"] == "cause" else effect
            rows.append(
                {
                    "id": str(doc["idx"]),
                    "context": doc["premise"].strip()[:-1] + " " + connector,
                    "choices": [_lower_first(doc["choice1"]), _lower_first(doc["choice2"])],
                    "gold": int(doc["label"]),
                }
            )
        return limited(rows, ctx)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


xcopa = XCOPA()
