"""mmlu (Global-MMLU) and m_mmlu (Okapi's multilingual MMLU): translated MMLU, multiple choice by log-likelihood.

Why two tasks: the two translated MMLUs in use ship in different official layouts and cover different
languages, and lm-evaluation-harness has one task family for each; the task name says which one is read
(no guessing from the files). Both are scored as lm-eval scores them, zero-shot:

- `mmlu`: Global-MMLU (Singh et al. 2024, CohereForAI/Global-MMLU; 42 languages, human-verified or
  post-edited translations of all 14,042 MMLU test questions), lm-eval's `global_mmlu_full_<lang>`
  (lm_eval/tasks/global_mmlu/full/<lang>/_<lang>_template_yaml);
- `m_mmlu`: Okapi's ChatGPT translation (Lai et al. 2023, nlp-uoregon/mlmm-evaluation; republished as
  alexandrainst/m_mmlu with English, Icelandic and Norwegian added), lm-eval's `m_mmlu_<lang>`
  (lm_eval/tasks/okapi/mmlu_multilingual/_default_yaml).

Prompt (both yamls): "{question.strip()}\nA. {option_a}\nB. {option_b}\nC. {option_c}\nD. {option_d}\nAnswer:",
choices "A".."D" scored as " A".." D" after it, gold the `answer` letter; metric acc. Neither yaml has
a description, so there is no "The following are multiple choice questions (with answers) about
{subject}.\n\n" header (that is lm-eval's English `mmlu`, lm_eval/tasks/mmlu/default/*.yaml);
`GlobalMMLU(subject_header=True)` adds it, with the subject's underscores as spaces, as lm-eval's `mmlu`.
The prompt words ("Answer:", A-D) stay English in every language, as in lm-eval.

Data (under the data root, `eval.data_dir`), the official layouts:
    mmlu/Global-MMLU/<lang>/test-00000-of-00001.parquet   the hub repository as downloaded (any
        `<split>*.parquet`, else `<split>*.csv`, in name order), columns sample_id, subject,
        subject_category, question, option_a..option_d, answer ("A".."D"), cultural_sensitivity_label, ...
    mmlu/m_mmlu/<lang>_test.json                          Okapi's release (datasets/m_mmlu), a JSON list of
        {"id", "instruction" (the question), "option_a".."option_d", "answer" ("A".."D")}
When the language's local files are absent the hub dataset is loaded with `datasets` (`hub`, same fields;
None: local files only), and a failure is a DataError naming both.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.evaluate.tasks.common import TaskContext, check_language, data_root, limited, require

VERSION = 1
LETTERS = ("A", "B", "C", "D")
OPTIONS = ("option_a", "option_b", "option_c", "option_d")
TEMPLATE = "{question}\nA. {option_a}\nB. {option_b}\nC. {option_c}\nD. {option_d}\nAnswer:"
SUBJECT_HEADER = "The following are multiple choice questions (with answers) about {subject}.\n\n"

# CohereForAI/Global-MMLU's configurations (lm_eval/tasks/global_mmlu/full/)
GLOBAL_MMLU_LANGUAGES = tuple(
    """
    am ar bn cs de el en es fa fil fr ha he hi id ig it ja ko ky lt mg ms ne nl ny pl pt ro ru si sn so sr sv sw
    te tr uk vi yo zh
    """.split()
)
# alexandrainst/m_mmlu's configurations (lm_eval/tasks/okapi/mmlu_multilingual/m_mmlu_*.yaml): Okapi's 31
# files (the 26 languages of its README plus eu gu hy pt sv) and en, is, nb
OKAPI_LANGUAGES = tuple(
    """
    ar bn ca da de en es eu fr gu hi hr hu hy id is it kn ml mr nb ne nl pt ro ru sk sr sv ta te uk vi zh
    """.split()
)


@dataclass(frozen=True)
class GlobalMMLU:
    name: str = "mmlu"
    version: int = VERSION
    kind: str = "multiple_choice"
    prompt_field: str = "context"  # the text the contamination check compares
    languages: tuple[str, ...] = GLOBAL_MMLU_LANGUAGES
    split: str = "test"
    directory: str = "Global-MMLU"  # under <data root>/mmlu/
    hub: str | None = "CohereForAI/Global-MMLU"  # read when the local files are absent; None: local only
    subject_header: bool = False  # lm-eval's English mmlu description before each question

    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        check_language(self.name, lang, self.languages)
        docs, source = self.documents(ctx, lang)
        rows = []
        for i, doc in enumerate(docs):
            header = ""
            if self.subject_header:
                subject = doc.get("subject")
                if not subject:
                    raise DataError(f"{source}: question {doc.get('sample_id', i)} has no subject for the header")
                header = SUBJECT_HEADER.format(subject=str(subject).replace("_", " "))
            rows.append(mc_row(doc, "question", doc.get("sample_id") or i, header, source))
        return limited(unique_ids(rows), ctx)

    def documents(self, ctx: TaskContext, lang: str) -> tuple[list[dict], str]:
        """The split's records in file order, and where they came from (for error messages)."""
        folder = data_root(ctx.data_dir) / "mmlu" / self.directory / lang
        if not folder.is_dir():
            return from_hub(self.name, self.hub, lang, self.split, folder)
        parquet = sorted(folder.glob(f"{self.split}*.parquet"))
        if parquet:
            import pyarrow.parquet as pq

            return [doc for path in parquet for doc in pq.read_table(path).to_pylist()], str(folder)
        tables = sorted(folder.glob(f"{self.split}*.csv"))
        if not tables:
            raise DataError(f"{folder}: no {self.split}*.parquet or {self.split}*.csv for task {self.name}")
        docs = []
        for path in tables:
            with open(path, newline="", encoding="utf-8") as f:
                docs += list(csv.DictReader(f))
        return docs, str(folder)


@dataclass(frozen=True)
class OkapiMMLU:
    name: str = "m_mmlu"
    version: int = VERSION
    kind: str = "multiple_choice"
    prompt_field: str = "context"  # the text the contamination check compares
    languages: tuple[str, ...] = OKAPI_LANGUAGES
    split: str = "test"
    directory: str = "m_mmlu"  # under <data root>/mmlu/
    hub: str | None = "alexandrainst/m_mmlu"  # read when the local file is absent; None: local only

    metrics: tuple[str, ...] = ("acc",)

    def load(self, ctx: TaskContext, lang: str) -> list[dict]:
        check_language(self.name, lang, self.languages)
        path = data_root(ctx.data_dir) / "mmlu" / self.directory / f"{lang}_{self.split}.json"
        if path.exists():
            try:
                docs = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise DataError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
            if not isinstance(docs, list) or not all(isinstance(doc, dict) for doc in docs):
                raise DataError(f"{path}: expected a JSON list of question objects")
            source = str(path)
        else:
            docs, source = from_hub(self.name, self.hub, lang, self.split, path)
        rows = [mc_row(doc, "instruction", doc.get("id") or i, "", source) for i, doc in enumerate(docs)]
        return limited(unique_ids(rows), ctx)


def mc_row(doc: dict, question: str, doc_id, header: str, source: str) -> dict:
    """One lm-eval multiple-choice row: the prompt, the letters as choices, the gold letter's index.

    `question`: the field holding the question (Global-MMLU's question, Okapi's instruction)."""
    missing = [key for key in (question, *OPTIONS, "answer") if key not in doc]
    if missing:
        raise DataError(f"{source}: question {doc_id} has no {missing}")
    answer = str(doc["answer"]).strip()
    if answer not in LETTERS:
        raise DataError(f"{source}: question {doc_id} has answer {doc['answer']!r}, expected one of A, B, C, D")
    options = {key: doc[key] for key in OPTIONS}
    return {
        "id": str(doc_id),
        "context": header + TEMPLATE.format(question=str(doc[question]).strip(), **options),
        "choices": list(LETTERS),
        "gold": LETTERS.index(answer),
    }


def unique_ids(rows: list[dict]) -> list[dict]:
    """The rows, ids kept where they are unique; else numbered by position (predictions need one id each)."""
    if len({row["id"] for row in rows}) == len(rows):
        return rows
    return [{**row, "id": f"{i}:{row['id']}"} for i, row in enumerate(rows)]


def from_hub(task: str, hub: str | None, lang: str, split: str, local: Path) -> tuple[list[dict], str]:
    """`datasets.load_dataset(hub, lang, split=split)`, for when the local files are absent."""
    if hub is None:
        require(local, task)  # raises: names the local path
    try:
        import datasets

        docs = list(datasets.load_dataset(hub, lang, split=split))
    except Exception as e:  # offline, unknown config, no `datasets`: say where we looked
        raise DataError(
            f"{local}: no such file for task {task}, and the hub dataset {hub} ({lang}, {split}) could not be "
            f"loaded ({type(e).__name__}: {e}); set eval.data_dir or $XINSTRUCT_DATA"
        ) from None
    return docs, f"{hub} ({lang}, {split})"


mmlu = GlobalMMLU()
m_mmlu = OkapiMMLU()
