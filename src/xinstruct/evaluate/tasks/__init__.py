"""Evaluation tasks, by name (written out by hand: the YAML `eval.tasks` names keys of TASKS).

A task is a small frozen dataclass: `kind` (generation | multiple_choice), `languages`,
`load(ctx, lang)` -> rows, and either `score(ctx, lang, rows, predictions)` (generation) or
`metrics` (multiple choice: acc / acc_norm from per-choice log-likelihoods); `aggregate` adds
metrics across languages (consistency). `prompts(exp, lang)` feeds the contamination check.
Besides these fixed tasks, `records:SOURCE@LANG` names a records source evaluated zero-shot with a
template (`records.py`), built from the experiment by `records.records_task`.
"""

from xinstruct.evaluate.tasks.bbh import bbh, bbh_zeroshot
from xinstruct.evaluate.tasks.belebele import belebele
from xinstruct.evaluate.tasks.lab_qa import lab_qa, lab_qa_cross
from xinstruct.evaluate.tasks.lcb import LCB_TASKS
from xinstruct.evaluate.tasks.mgsm import mgsm
from xinstruct.evaluate.tasks.mlqa import mlqa
from xinstruct.evaluate.tasks.mmlu import m_mmlu, mmlu
from xinstruct.evaluate.tasks.pawsx import pawsx
from xinstruct.evaluate.tasks.records import RecordsTask
from xinstruct.evaluate.tasks.seaeval import cross_logiqa, cross_mmlu, cross_xquad
from xinstruct.evaluate.tasks.translation import ntrex
from xinstruct.evaluate.tasks.xcopa import xcopa
from xinstruct.evaluate.tasks.xnli import xnli
from xinstruct.evaluate.tasks.xquad import XQuAD, xquad
from xinstruct.languages import same_language

TASKS = {
    "lab_qa": lab_qa,
    "lab_qa_cross": lab_qa_cross,
    "xquad": xquad,
    "xquad_mlqa_norm": XQuAD(name="xquad_mlqa_norm", normalization="mlqa"),
    "xcopa": xcopa,
    "mgsm": mgsm,
    "cross_mmlu": cross_mmlu,
    "cross_logiqa": cross_logiqa,
    "cross_xquad": cross_xquad,
    "ntrex": ntrex,
    "mlqa": mlqa,
    "xnli": xnli,
    "pawsx": pawsx,
    "belebele": belebele,
    "mmlu": mmlu,
    "m_mmlu": m_mmlu,
    "bbh": bbh,
    "bbh_zeroshot": bbh_zeroshot,
    **LCB_TASKS,  # lcb_monolingual, lcb_crosslingual and one task per source (lcb_crosslingual_okapi, ...)
}


def evaluation_languages(task, languages: list[str], ctx=None) -> tuple[list[str], list[str]]:
    """(the languages `task` is evaluated in, the requested ones it lacks). A records task runs in its data's
    language whatever `languages` are (naming its source asked for that data); another task in those of
    `languages` it has (every one when it has no list)."""
    if isinstance(task, RecordsTask):
        return list(task.languages), []
    have = task.available_languages(ctx) if ctx is not None and hasattr(task, "available_languages") else task.languages
    run = [lang for lang in languages if not have or any(same_language(lang, t) for t in have)]
    return run, sorted(set(languages) - set(run))
