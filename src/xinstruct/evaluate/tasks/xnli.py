"""xnli: natural language inference in 15 languages (XNLI, Conneau et al. 2018), multiple choice by log-likelihood.

lm-evaluation-harness's `xnli_<lang>` (SPEC-metrics.md §4): an empty context and three full
sentences as choices, `premise + ", <right>? <Yes>, " + hypothesis` with the localised words for
entailment / neutral / contradiction (lm-eval's `tasks/xnli/utils.py`, e.g. en right? Yes / Also /
No, zh 正确? 是的 / 所以 / 不是的); each choice is scored as " " + sentence right after the BOS token.
Labels 0 entailment, 1 neutral, 2 contradiction. Split: validation (lm-eval's). Metric: acc.

Data, the official release (XNLI-1.0.zip: one file per split, every language in it, column
`language`; read as the HF loader does, tab-separated with no quoting):
    <data root>/xnli/XNLI-1.0/xnli.dev.tsv    (split "validation", the default; or xnli.dev.jsonl)
    <data root>/xnli/XNLI-1.0/xnli.test.tsv   (split "test"; or xnli.test.jsonl)
fields language, gold_label (entailment | neutral | contradiction), sentence1 (premise), sentence2
(hypothesis), pairID; or, with `hub` set (e.g. XNLI(hub="facebook/xnli")),
`datasets.load_dataset(hub, lang, split=split)` with fields premise, hypothesis, label (0/1/2).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
LABELS = ("entailment", "neutral", "contradiction")
# lang: (question word, entailment word, neutral word, contradiction word), as lm-eval writes them
WORDS = {
    "ar": ("صحيح", "نعم", "لذا", "رقم"),
    "bg": ("правилно", "да", "така", "не"),
    "de": ("richtig", "Ja", "Auch", "Nein"),
    "el": ("σωστός", "Ναί", "Έτσι", "όχι"),
    "en": ("right", "Yes", "Also", "No"),
    "es": ("correcto", "Sí", "Asi que", "No"),
    "fr": ("correct", "Oui", "Aussi", "Non"),
    "hi": ("सही", "हाँ", "इसलिए", "नहीं"),
    "ru": ("правильно", "Да", "Так", "Нет"),
    "sw": ("sahihi", "Ndiyo", "Hivyo", "Hapana"),
    "th": ("ถูกต้อง", "ใช่", "ดังนั้น", "ไม่"),
    "tr": ("doğru", "Evet", "Böylece", "Hayır"),
    "ur": ("صحیح", "جی ہاں", "اس لئے", "نہیں"),
    "vi": ("đúng", "Vâng", "Vì vậy", "Không"),
    "zh": ("正确", "是的", "所以", "不是的"),
}
FILES = {"validation": "xnli.dev", "test": "xnli.test"}


@dataclass(frozen=True)
class XNLI:
    name: str = "xnli"
    version: int = VERSION
    kind: str = "multiple_choice"
    languages: tuple[str, ...] = tuple(WORDS)
    split: str = "validation"  # validation | test
    hub: str | None = None  # a hub dataset id (facebook/xnli) instead of the local files
    target_delimiter: str = " "

    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        if self.hub:
            import datasets

            docs = [
                {"id": str(i), "premise": d["premise"], "hypothesis": d["hypothesis"], "label": int(d["label"])}
                for i, d in enumerate(datasets.load_dataset(self.hub, lang, split=self.split))
            ]
        else:
            docs = self._local(ctx, lang)
        question, *words = WORDS[lang]
        rows = [
            {
                "id": doc["id"],
                "context": "",
                "choices": [f"{doc['premise']}, {question}? {word}, {doc['hypothesis']}" for word in words],
                "gold": doc["label"],
                "premise": doc["premise"],
                "hypothesis": doc["hypothesis"],
            }
            for doc in docs
        ]
        return limited(rows, ctx)

    def _local(self, ctx: TaskContext, lang: str) -> list[dict]:
        directory = data_root(ctx.data_dir) / "xnli" / "XNLI-1.0"
        path = directory / f"{FILES[self.split]}.tsv"
        if not path.exists() and path.with_suffix(".jsonl").exists():
            path = path.with_suffix(".jsonl")
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            with open(require(path, self.name), encoding="utf-8") as f:
                records = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        docs = []
        for record in records:
            if record["language"] != lang:
                continue
            if record["gold_label"] not in LABELS:
                raise DataError(f"{path}: pair {record.get('pairID')}: unknown gold_label {record['gold_label']!r}")
            docs.append(
                {
                    "id": str(record.get("pairID", len(docs))),
                    "premise": record["sentence1"],
                    "hypothesis": record["sentence2"],
                    "label": LABELS.index(record["gold_label"]),
                }
            )
        return docs

    def prompts(self, exp, lang: str) -> list[str]:
        rows = self.load(TaskContext(data_dir=exp.eval.data_dir), lang)
        return [f"{row['premise']}\n{row['hypothesis']}" for row in rows]


xnli = XNLI()
