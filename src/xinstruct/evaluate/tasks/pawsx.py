"""pawsx: paraphrase identification in 7 languages (PAWS-X, Yang et al. 2019), multiple choice by log-likelihood.

lm-evaluation-harness's `paws_<lang>` (SPEC-metrics.md §4): an empty context and two full
sentences as choices, [sentence1 + ", <right>? <No>, " + sentence2, sentence1 + ", <right>? <Yes>, " +
sentence2] with the localised words of lm-eval's generated `paws_<lang>.yaml` (e.g. en right? No / Yes,
de richtig? Nein / Ja, fr n'est-ce pas? Non / Oui, zh 对吧? 不是 / 是), scored right after the BOS
token with target_delimiter "" (no space before the sentence). Label 1 = paraphrase (the "Yes"
choice). For en, de, es and fr only, lm-eval's `process_docs_paraphrases` runs first: pairs with an
empty sentence are dropped, both sentences are detokenised and stripped, a final . , or ; is removed
from sentence1 and the first character of sentence2 is lowercased. Split: test. Metric: acc.

Data, the official release (x-final.tar.gz; read as the HF loader does, tab-separated with a header
and no quoting):
    <data root>/pawsx/x-final/<lang>/test_2k.tsv   (split "test", the default)
    <data root>/pawsx/x-final/<lang>/dev_2k.tsv    (split "validation")
columns id, sentence1, sentence2, label (0/1); or, with `hub` set (e.g.
PAWSX(hub="google-research-datasets/paws-x")), `datasets.load_dataset(hub, lang, split=split)`, same fields.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
# lang: (question word, yes, no), as lm-eval's paws_<lang>.yaml write them (its _generate_config.py has fr "No")
WORDS = {
    "de": ("richtig", "Ja", "Nein"),
    "en": ("right", "Yes", "No"),
    "es": ("verdad", "Sí", "No"),
    "fr": ("n'est-ce pas", "Oui", "Non"),
    "ja": ("ですね", "はい", "いいえ"),
    "ko": ("맞죠", "예", "아니요"),
    "zh": ("对吧", "是", "不是"),
}
PROCESSED = ("de", "en", "es", "fr")  # the languages whose lm-eval config has process_docs_paraphrases
FILES = {"test": "test_2k.tsv", "validation": "dev_2k.tsv"}


@dataclass(frozen=True)
class PAWSX:
    name: str = "pawsx"
    version: int = VERSION
    kind: str = "multiple_choice"
    languages: tuple[str, ...] = tuple(WORDS)
    split: str = "test"  # test | validation
    hub: str | None = None  # a hub dataset id (google-research-datasets/paws-x) instead of the local files
    target_delimiter: str = ""

    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        lang = check_language(self.name, lang, self.languages)
        if self.hub:
            import datasets

            docs = list(datasets.load_dataset(self.hub, lang, split=self.split))
        else:
            path = require(data_root(ctx.data_dir) / "pawsx" / "x-final" / lang / FILES[self.split], self.name)
            with open(path, encoding="utf-8") as f:
                docs = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        if lang in PROCESSED:
            docs = [
                _process(doc)
                for doc in docs
                if doc["sentence1"] not in (None, "") and doc["sentence2"] not in (None, "")
            ]
        question, yes, no = WORDS[lang]
        rows = []
        for doc in docs:
            s1, s2 = doc["sentence1"] or "", doc["sentence2"] or ""
            rows.append(
                {
                    "id": str(doc["id"]),
                    "context": "",
                    "choices": [f"{s1}, {question}? {no}, {s2}", f"{s1}, {question}? {yes}, {s2}"],
                    "gold": int(doc["label"]),
                    "sentence1": s1,
                    "sentence2": s2,
                }
            )
        return limited(rows, ctx)

    def prompts(self, exp, lang: str) -> list[str]:
        rows = self.load(TaskContext(data_dir=exp.eval.data_dir), lang)
        return [f"{row['sentence1']}\n{row['sentence2']}" for row in rows]


def detokenize(text: str) -> str:
    """lm-eval's `general_detokenize` (tasks/paws-x/utils.py), the same replacements in the same order."""
    text = text.replace(" n't", "n't")
    text = text.replace(" )", ")")
    text = text.replace("( ", "(")
    text = text.replace('" ', '"')
    text = text.replace(' "', '"')
    return re.sub(r" (['.,])", r"\1", text)


def _process(doc: dict) -> dict:
    s1 = detokenize(doc["sentence1"]).strip()
    s2 = detokenize(doc["sentence2"]).strip()
    if s1.endswith((".", ",", ";")):
        s1 = s1[:-1]
    return {**doc, "sentence1": s1, "sentence2": s2[:1].lower() + s2[1:]}


pawsx = PAWSX()
