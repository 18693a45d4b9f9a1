"""mlqa: extractive QA in 7 languages (MLQA, Lewis et al. 2020), generation scored like mlqa_evaluation_v1.py.

Monolingual MLQA (context language = question language): the model gets the context and
question in the same instruction as xquad (English or native: `tasks/prompts.py`) and answers
freely; EM and F1 follow the official `mlqa_evaluation_v1.py` with the context language
(SPEC-metrics.md §2: Unicode punctuation, per-language articles, zh mixed segmentation, official
Arabic rule), max over golds. Corpus values are in [0, 1] here (the script's x100 is dropped).

Data, the official release (MLQA_V1.zip, SQuAD v1.1 JSON):
    <data root>/mlqa/MLQA_V1/test/test-context-<lang>-question-<lang>.json   (split "test", the default)
    <data root>/mlqa/MLQA_V1/dev/dev-context-<lang>-question-<lang>.json     (split "dev")
or, with `hub` set (e.g. MLQA(hub="facebook/mlqa")), `datasets.load_dataset(hub, "mlqa.<lang>.<lang>")`
(split "test", or "validation" for "dev"; fields id, context, question, answers.text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, qa_scores, require
from xinstruct.evaluate.tasks.prompts import qa_prompt

VERSION = 1
LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


@dataclass(frozen=True)
class MLQA:
    name: str = "mlqa"
    version: int = VERSION
    kind: str = "generation"
    prompt_field: str = "question"  # the text the contamination check compares
    fidelity: bool = True  # answers should be in the evaluation language: lingua checks them
    languages: tuple[str, ...] = LANGUAGES
    split: str = "test"  # test | dev
    hub: str | None = None  # a hub dataset id (facebook/mlqa) instead of the local files

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        if self.hub:
            import datasets

            split = "validation" if self.split == "dev" else self.split
            docs = datasets.load_dataset(self.hub, f"mlqa.{lang}.{lang}", split=split)
            qas = [(doc["context"], doc["id"], doc["question"], list(doc["answers"]["text"])) for doc in docs]
        else:
            name = f"{self.split}-context-{lang}-question-{lang}.json"
            path = require(data_root(ctx.data_dir) / "mlqa" / "MLQA_V1" / self.split / name, self.name)
            qas = [
                (paragraph["context"], qa["id"], qa["question"], [a["text"] for a in qa["answers"]])
                for article in json.loads(path.read_text(encoding="utf-8"))["data"]
                for paragraph in article["paragraphs"]
                for qa in paragraph["qas"]
            ]
        rows = [
            {
                "id": qa_id,
                "messages": [
                    {"role": "user", "content": qa_prompt(ctx.prompt_language, lang, context, question, self.name)}
                ],
                "golds": golds,
                "question": question,
            }
            for context, qa_id, question, golds in qas
        ]
        return limited(rows, ctx)

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.metrics import mlqa_em_f1

        # lang: the context (answer) language
        return qa_scores(rows, predictions, lambda pred, golds: mlqa_em_f1(pred, golds, lang))


mlqa = MLQA()
