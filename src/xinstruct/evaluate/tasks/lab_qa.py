"""lab_qa: attribute questions about held-out lab people, in every lab language.

The facts of held-out people were seen only in pretraining, never in instruction data, so
this measures whether tuning taught the model to *answer* in each language, not to recall.
Metrics per language:
- accuracy: normalized exact match of the answer with the reference answer sentence in the
  question's language ("the city of N is V." rendered in that language);
- fidelity: share of answers whose words are mostly in the question's language (lexicons);
- value_recall: share of answers naming the true value in any language (recall apart from
  language choice; LAB-NOTES.md shows most of the pinch effect is language choice).

lab_qa_cross: the same questions as a cross-lingual consistency set (CrossIn's use of SeaEval): every
question is asked in every language, and an answer's *pick* is the first value of the asked attribute it
names, in any language (no value: a pick no other language shares). Per language, lab_qa's metrics plus
value_accuracy (the pick is the true value: SeaEval's accuracy, language apart); across the evaluated
languages (language "all"): value_accuracy (macro), consistency_k (the share of k-language subsets
whose picks agree, SeaEval's Consistency_k, `metrics.consistency`) and ac3_k for k = 2..L (headline 3).
"""

from __future__ import annotations

import re
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
        detect = world.detect_language
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


# Three-character pick codes (SeaEval's consistency compares the first 3 characters of each pick).
_NO_PICK = "-"


@dataclass(frozen=True)
class LabQACross(LabQA):
    name: str = "lab_qa_cross"

    def score(self, ctx: TaskContext, lang: str, rows: list[dict], predictions: list[str]) -> tuple[dict, list[dict]]:
        from xinstruct.lab.world import ATTRIBUTES

        metrics, per_example = super().score(ctx, lang, rows, predictions)
        world = self.world(ctx.model_dir)
        codes = {v: f"{k:03d}" for k, v in enumerate(v for vs in ATTRIBUTES.values() for v in vs)}
        no_pick = f"{_NO_PICK}{list(world.lexicons).index(lang):02d}"  # differs from every language's
        for row, pred, example in zip(rows, predictions, per_example, strict=True):
            forms = {world.lexicons[tag][v]: v for tag in world.lexicons for v in ATTRIBUTES[row["attr"]]}
            named = [forms[w] for w in _normalize(pred).split() if w in forms]
            example["pick"] = codes[named[0]] if named else no_pick
            example["gold_pick"] = codes[row["value"]]
            example["value_accuracy"] = float(example["pick"] == example["gold_pick"])
        metrics["value_accuracy"] = sum(e["value_accuracy"] for e in per_example) / len(rows)
        return metrics, per_example

    def aggregate(self, chosen: dict[str, list[str]], answers: dict[str, list[str]]) -> dict[str, float]:
        """value_accuracy (macro over languages), consistency_k and ac3_k for k = 2..L, from the picks."""
        from xinstruct.metrics import seaeval_scores

        scores = seaeval_scores(chosen, answers)
        return {("value_accuracy" if key == "accuracy" else key.lower()): value for key, value in scores.items()}


lab_qa_cross = LabQACross()
