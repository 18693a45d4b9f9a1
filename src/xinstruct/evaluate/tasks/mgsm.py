"""mgsm: grade-school math in 11 languages (MGSM, Shi et al. 2022), generation with number extraction.

Direct prompt as lm-evaluation-harness's mgsm_direct: "Question: {q}\nAnswer:" in every language, or
its native labels ("Frage: {q}\nAntwort:") with `prompt_language: native`; greedy; the answer is the
last number of the output (flexible-extract) compared after removing case and ASCII punctuation.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require
from xinstruct.evaluate.tasks.prompts import mgsm_prompt

VERSION = 2  # 2: the "Question: " label of mgsm_direct
LANGUAGES = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")


@dataclass(frozen=True)
class MGSM:
    name: str = "mgsm"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "question"  # the text the contamination check compares
    fidelity: bool = True  # answers should be in the evaluation language: lingua checks them
    languages: tuple[str, ...] = LANGUAGES

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        path = require(data_root(ctx.data_dir) / "mgsm" / f"mgsm_{lang}.tsv", self.name)
        text = path.read_text(encoding="utf-8")
        rows = [
            {
                "id": f"mgsm-{lang}-{i:03d}",
                "messages": [{"role": "user", "content": mgsm_prompt(ctx.prompt_language, lang, question)}],
                "answer": answer,
                "question": question,
            }
            for i, (question, answer) in enumerate(
                csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
            )
        ]
        return limited(rows, ctx)

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.metrics import mgsm_exact_match, mgsm_extract

        details = []
        for row, pred in zip(rows, predictions, strict=True):
            extracted = mgsm_extract(pred)
            details.append({"extracted": extracted, "exact_match": mgsm_exact_match(extracted, row["answer"])})
        return {"exact_match": sum(d["exact_match"] for d in details) / len(rows)}, details


mgsm = MGSM()
