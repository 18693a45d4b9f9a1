"""Evaluation tasks, by name (written out by hand: the YAML `eval.tasks` names keys of TASKS).

A task is a small frozen dataclass: `kind` (generation | multiple_choice), `languages`,
`load(ctx, lang)` -> rows, and either `score(ctx, lang, rows, predictions)` (generation) or
`metrics` (multiple choice: acc / acc_norm from per-choice log-likelihoods); `aggregate` adds
metrics across languages (consistency). `prompts(exp, lang)` feeds the contamination check.
"""

from xinstruct.evaluate.tasks.belebele import belebele
from xinstruct.evaluate.tasks.lab_qa import lab_qa
from xinstruct.evaluate.tasks.mgsm import mgsm
from xinstruct.evaluate.tasks.mlqa import mlqa
from xinstruct.evaluate.tasks.pawsx import pawsx
from xinstruct.evaluate.tasks.seaeval import cross_logiqa, cross_mmlu, cross_xquad
from xinstruct.evaluate.tasks.translation import ntrex
from xinstruct.evaluate.tasks.xcopa import xcopa
from xinstruct.evaluate.tasks.xnli import xnli
from xinstruct.evaluate.tasks.xquad import XQuAD, xquad

TASKS = {
    "lab_qa": lab_qa,
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
}
