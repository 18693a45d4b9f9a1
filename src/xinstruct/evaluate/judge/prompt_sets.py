"""Open-ended prompts for the judges, per language: the lab's, or JSON-lines files.

- `lab`: the lab's questions about held-out people, with the true answer as the reference;
- `lab_mixed`: those and one yes/no question per fact (`lab.corpus.yesno_questions`), for the lab
  judge's logic aspect;
- a directory in the HPLT instruction-test layout (`test_<lang>.jsonl`, e.g.
  ../shared/data/hplt_instruction_test), or a file path with a `{lang}` slot; each line
  `{"id": ..., "prompt": ..., "reference": ... (optional)}`.
A malformed line is an error naming the file and line (exit code 2); with `skip_invalid` it is
skipped with a warning that names it. (HPLT's test_hi.jsonl line 50 is malformed upstream.)
"""

from __future__ import annotations

import json
from pathlib import Path

from xinstruct.errors import DataError
from xinstruct.progress import warn


def prompt_file(source: str, lang: str) -> Path:
    path = Path(source.format(lang=lang)) if "{lang}" in source else Path(source)
    if path.is_dir():
        path = path / f"test_{lang}.jsonl"
    if not path.exists():
        raise DataError(f"{path}: no such prompt file for language {lang} (judge.prompts)")
    return path


def load_prompt_file(path: Path, lang: str, skip_invalid: bool = False) -> list[dict]:
    items, skipped = [], []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
                prompt = record.get("prompt")
                if not isinstance(prompt, str) or not prompt.strip():
                    raise ValueError('field "prompt" missing or empty')
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                problem = f"{path}:{line_no}: {e}"
                if not skip_invalid:
                    raise DataError(f"{problem}; set judge.skip_invalid: true to skip such lines") from None
                skipped.append(f"{path.name}:{line_no}")
                continue
            items.append(
                {
                    "id": str(record.get("id", line_no)),
                    "language": lang,
                    "prompt": prompt,
                    "reference": record.get("reference"),
                }
            )
    if skipped:
        warn(f"judge prompts: skipped {len(skipped)} invalid line(s): {', '.join(skipped)}")
    return items


def lab_prompts(model_dir: Path, lang: str) -> list[dict]:
    from xinstruct.evaluate.tasks import TASKS
    from xinstruct.evaluate.tasks.common import TaskContext

    rows = TASKS["lab_qa"].load(TaskContext(model_dir=model_dir), lang)
    return [{"id": r["id"], "language": lang, "prompt": r["question"], "reference": r["answer"]} for r in rows]


def lab_yesno_prompts(model_dir: Path, lang: str) -> list[dict]:
    from xinstruct.lab.corpus import yesno_questions
    from xinstruct.lab.pretrain import load_world

    rows = yesno_questions(load_world(model_dir), lang)
    return [{"id": r["id"], "language": lang, "prompt": r["question"], "reference": r["answer"]} for r in rows]


LAB_SETS = ("lab", "lab_mixed")


def load_prompts(source: str, lang: str, model_dir: Path | None, skip_invalid: bool, limit: int | None) -> list[dict]:
    if source in LAB_SETS:
        if model_dir is None:
            raise DataError(f"judge.prompts: {source} needs the lab base model (model: lab)")
        items = lab_prompts(model_dir, lang)
        if source == "lab_mixed":
            items += lab_yesno_prompts(model_dir, lang)
    else:
        items = load_prompt_file(prompt_file(source, lang), lang, skip_invalid)
    return items if limit is None else items[:limit]
