"""lab_qa: attribute questions about held-out lab people, in every lab language.

The facts of held-out people were seen only in pretraining, never in instruction data, so
this measures whether tuning taught the model to *answer* in each language, not to recall.
Metrics per language:
- accuracy: normalized exact match of the answer with the reference answer sentence in the
  question's language ("the city of N is V." rendered in that language);
- fidelity: share of answers whose words are mostly in the question's language (lexicons);
- value_recall: share of answers naming the true value in any language (recall apart from
  language choice; LAB-NOTES.md shows most of the pinch effect is language choice).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.evaluate.fidelity import fidelity
from xinstruct.evaluate.tasks.common import TaskContext

VERSION = 1


def _normalize(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


@dataclass(frozen=True)
class LabQA:
    name: str = "lab_qa"
    version: int = VERSION
    kind: str = "generation"
    languages: tuple[str, ...] = ()  # whatever the lab world has

    def world(self, model_dir: Path):
        from xinstruct.lab.pretrain import load_world

        return load_world(model_dir)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        from xinstruct.lab.corpus import qa_questions

        if ctx.model_dir is None:
            raise DataError("task lab_qa needs the lab base model (model: lab)")
        rows = qa_questions(self.world(ctx.model_dir), lang)
        for row in rows:
            row["messages"] = [{"role": "user", "content": row["question"]}]
        return rows

    def prompts(self, exp, lang: str) -> list[str]:
        """The questions alone, for the contamination check (from the experiment's world config)."""
        from xinstruct.lab.corpus import qa_questions
        from xinstruct.lab.world import World

        return [row["question"] for row in qa_questions(World(exp.world_config()), lang)]

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        world = self.world(ctx.model_dir)

        def detect(text: str) -> str | None:
            counts = Counter(world.word_languages(text)).most_common(1)
            return counts[0][0] if counts else None

        per_example = []
        for row, pred in zip(rows, predictions, strict=True):
            forms = {world.lexicons[tag][row["value"]] for tag in world.lexicons}
            detected = detect(pred)
            per_example.append(
                {
                    "accuracy": float(_normalize(pred) == _normalize(row["answer"])),
                    "fidelity": float(detected == lang),
                    "value_recall": float(bool(forms & set(_normalize(pred).split()))),
                    "detected_lang": detected,
                }
            )
        n = len(rows)
        metrics = {
            "accuracy": sum(e["accuracy"] for e in per_example) / n,
            "fidelity": fidelity(predictions, lang, detect),
            "value_recall": sum(e["value_recall"] for e in per_example) / n,
        }
        return metrics, per_example


lab_qa = LabQA()
