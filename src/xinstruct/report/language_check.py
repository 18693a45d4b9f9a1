"""The rubric's judged language beside the measured one: an automatic check on the LLM judge.

The English-only transfer paper scores "language" first among its six aspects; an LLM judge can be wrong
about it. The judge step also measures every answer with the Language Confusion Benchmark's line pass
(`lpr`: every line of 5+ tokens in the prompt's language, fastText lid.176) and records, per answer,
whether the two agree (`language_agreement`: judged language >= 4 of 5 exactly when the line check
passes). This section puts them side by side per arm and language, with the agreement; a low agreement
says the judge, or the line check, should not be trusted on that language.
"""

from __future__ import annotations

import math

from xinstruct.report.tables import cell_text

TASK = "judge_rubric"
COLUMNS = ("language", "lpr", "language_agreement")
HEADERS = ("judged language", "measured LPR", "agreement")


def language_rows(analysis) -> list[list[str]]:
    """[arm, language, judged, LPR, agreement] for every arm and language the judge answered, as text."""
    if not any(c.task == TASK and c.metric == "lpr" for c in analysis.cells):
        return []
    rows = []
    for arm in analysis.arms:
        for lang in analysis.languages(TASK, "lpr"):
            cells = [analysis.cell(arm, TASK, lang, metric) for metric in COLUMNS]
            if all(c is None for c in cells):
                continue
            texts = ["-" if c is None else cell_text(c.value, c.low, c.high) for c in cells]
            rows.append([arm, lang, *texts])
    return rows


def language_section(analysis) -> list[str]:
    """report.md lines: judged language vs measured LPR and their agreement (none without the judge's LPR)."""
    rows = language_rows(analysis)
    if not rows:
        return []
    lines = [
        "## Judged language vs measured LPR",
        "",
        "The rubric's `language` aspect (0-100), the Language Confusion Benchmark's line pass rate of the same "
        "answers, and the share of answers where the two agree (judged >= 4 of 5 exactly when every long line "
        "is in the language).",
        "",
        "| arm | language | " + " | ".join(HEADERS) + " |",
        "|---" * (len(HEADERS) + 2) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    for arm in analysis.arms:
        values = [analysis.cell(arm, TASK, lang, "language_agreement") for lang in analysis.languages(TASK, "lpr")]
        values = [c.value for c in values if c is not None and not math.isnan(c.value)]
        if values:
            lines.append(f"\n{arm}: agreement {100 * sum(values) / len(values):.1f}% (macro over languages)")
    return [*lines, ""]
