"""cross_mmlu, cross_logiqa, cross_xquad: SeaEval's parallel questions, with consistency and AC3.

Each question is asked in every language as multiple choice scored by log-likelihood (the
choice strings, "(A) ...", scored after the question); the chosen choice is the deterministic
stand-in for SeaEval's LLM-judge alignment (SPEC-metrics.md §3). Per language: acc. Across the
evaluated languages (language "all"): SeaEval's overall accuracy (macro over languages),
Consistency_3 and AC3_3 (headline k=3), and Consistency_k/AC3_k for every k from 2 to L.

Cross-XQuAD is XQuAD's en/zh/es/vi questions joined on question id. SeaEval's own multiple-choice
version (CrossIn) has distractors that are not in ../shared/data, so xinstruct builds the choices
deterministically: the gold answer and three distractors, the (first) answers of the nearest other
questions of the same article (same paragraph first), each differing from the gold answers and from
each other in all four languages; the four are ordered by a shuffle seeded with the question id, so
option letters agree across languages and "(A)".."(D)" prefix them as in SeaEval's data.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require
from xinstruct.languages import SEAEVAL_NAMES

VERSION = 1
CROSS_XQUAD_LANGUAGES = ("en", "zh", "es", "vi")
LANGUAGE_NAMES = SEAEVAL_NAMES  # BCP-47 tag -> the English name SeaEval's files key each version by


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
        lang = check_language(self.name, lang, self.languages)
        rows = []
        for doc_id, item in self.items(ctx, lang):
            context = f"{item['context'].strip()}\n\n" if item.get("context") else ""
            question = context + item["question"].strip() + "\n" + "\n".join(item["choices"]) + "\nAnswer:"
            rows.append(
                {
                    "id": doc_id,
                    "context": question,
                    "choices": list(item["choices"]),
                    "gold": item["choices"].index(item["answer"]),
                }
            )
        return limited(rows, ctx)

    def items(self, ctx: TaskContext, lang: str) -> list[tuple[str, dict]]:
        """(question id, SeaEval item: context, question, choices "(A) ...", answer) in file order."""
        path = require(data_root(ctx.data_dir) / "seaeval" / self.file, self.name)
        return [(str(doc["id"]), doc[LANGUAGE_NAMES[lang]]) for doc in json.loads(path.read_text(encoding="utf-8"))]

    def aggregate(self, chosen: dict[str, list[str]], answers: dict[str, list[str]]) -> dict[str, float]:
        """Metrics across languages from each language's chosen choice strings (same question order)."""
        from xinstruct.metrics import seaeval_scores

        scores = seaeval_scores(chosen, answers)  # accuracy, consistency_k and AC3_k for k = 2..L
        return {("acc" if key == "accuracy" else key.lower()): value for key, value in scores.items()}


@dataclass(frozen=True)
class CrossXQuAD(SeaEvalCross):
    name: str = "cross_xquad"
    file: str = "xquad"
    languages: tuple[str, ...] = CROSS_XQUAD_LANGUAGES

    def items(self, ctx: TaskContext, lang: str) -> list[tuple[str, dict]]:
        return cross_xquad_items(data_root(ctx.data_dir) / self.file)[lang]


CROSS_XQUAD_DISTRACTORS = 3


@lru_cache(maxsize=4)
def cross_xquad_items(directory: Path) -> dict[str, list[tuple[str, dict]]]:
    """Cross-XQuAD's items in every language, built from xquad.<lang>.json (see the module docstring)."""
    data = {}
    for lang in CROSS_XQUAD_LANGUAGES:
        path = require(directory / f"xquad.{lang}.json", "cross_xquad")
        data[lang] = json.loads(path.read_text(encoding="utf-8"))["data"]
    shape = _question_ids(data["en"])
    for lang in CROSS_XQUAD_LANGUAGES:
        if _question_ids(data[lang]) != shape:
            raise DataError(f"{directory / f'xquad.{lang}.json'}: questions are not aligned with xquad.en.json by id")
    qas = {  # lang -> article -> paragraph -> [(id, question, context, golds)]
        lang: [
            [
                [(qa["id"], qa["question"], p["context"], [a["text"] for a in qa["answers"]]) for qa in p["qas"]]
                for p in article["paragraphs"]
            ]  # fmt: skip
            for article in data[lang]
        ]
        for lang in CROSS_XQUAD_LANGUAGES
    }
    items: dict[str, list[tuple[str, dict]]] = {lang: [] for lang in CROSS_XQUAD_LANGUAGES}
    for a, article in enumerate(shape):
        for p, paragraph in enumerate(article):
            nearest = [(p, j) for j in range(len(paragraph))] + [
                (q, j) for q in sorted(range(len(article)), key=lambda q: (abs(q - p), q)) if q != p
                for j in range(len(article[q]))
            ]  # fmt: skip
            for i, qa_id in enumerate(paragraph):
                picked: list[tuple[int, int]] = [(p, i)]
                for q, j in nearest:
                    if len(picked) > CROSS_XQUAD_DISTRACTORS:
                        break
                    if all(_distinct(qas[lang][a], picked, q, j) for lang in CROSS_XQUAD_LANGUAGES):
                        picked.append((q, j))
                if len(picked) <= CROSS_XQUAD_DISTRACTORS:
                    raise DataError(
                        f"cross_xquad: question {qa_id} has fewer than 3 distinct distractors in its article"
                    )
                order = list(range(len(picked)))
                random.Random(int(hashlib.sha256(qa_id.encode()).hexdigest()[:16], 16)).shuffle(order)
                for lang in CROSS_XQUAD_LANGUAGES:
                    _, question, context, _ = qas[lang][a][p][i]
                    texts = [qas[lang][a][q][j][3][0].strip() for q, j in picked]
                    choices = [f"({'ABCD'[k]}) {texts[o]}" for k, o in enumerate(order)]
                    answer = choices[order.index(0)]
                    items[lang].append((qa_id, {"context": context, "question": question, "choices": choices,
                                                "answer": answer}))  # fmt: skip
    return items


def _question_ids(data: list[dict]) -> list[list[list[str]]]:
    return [[[qa["id"] for qa in p["qas"]] for p in article["paragraphs"]] for article in data]


def _distinct(article: list[list[tuple]], picked: list[tuple[int, int]], q: int, j: int) -> bool:
    """Whether question (q, j)'s first answer differs from the gold's answers and the distractors so far."""
    text = article[q][j][3][0].strip().casefold()
    p, i = picked[0]
    if not text or text in {g.strip().casefold() for g in article[p][i][3]}:
        return False
    return all(text != article[pq][pj][3][0].strip().casefold() for pq, pj in picked[1:])


cross_mmlu = SeaEvalCross(name="cross_mmlu", file="cross_mmlu.json")
cross_logiqa = SeaEvalCross(name="cross_logiqa", file="cross_logiqa.json")
cross_xquad = CrossXQuAD()
