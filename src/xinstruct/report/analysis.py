"""The numbers a report shows: every cell with its 95% CI, seen vs unseen languages, arms vs baseline.

Every pair of arms is compared on the same examples, the later arm of the experiment file against
the earlier one (the demo: pinch vs english_only): per language, and as a macro average over the
non-English languages (where transfer is the question). "Seen" languages are those of the arm's
tuning data (instruction or response side), "unseen" the other evaluation languages; both are macro
averages over languages with bootstrap CIs. Language "all" rows (consistency, AC3) are cross-language
aggregates: shown, without a CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xinstruct.languages import language_key
from xinstruct.report.evidence import Run, example_values, mean_rows, paired_values, seen_languages
from xinstruct.report.stats import Comparison, bootstrap_ci, paired_test


@dataclass(frozen=True)
class CellStat:
    arm: str
    task: str
    language: str
    metric: str
    value: float
    low: float  # NaN: no per-example values (corpus metrics, aggregates)
    high: float
    n: int
    runs: int


@dataclass(frozen=True)
class GroupStat:
    arm: str
    task: str
    metric: str
    group: str  # seen | unseen | non-en
    languages: tuple[str, ...]
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class ArmComparison:
    arm: str
    baseline: str
    task: str
    metric: str
    scope: str  # a language, or "non-en" (macro over the non-English languages)
    languages: tuple[str, ...]
    result: Comparison


class Analysis:
    def __init__(self, runs: list[Run], headline: str = "accuracy"):
        self.runs = runs
        self.rows = mean_rows(runs)
        self.arms = list(dict.fromkeys(r["arm"] for r in self.rows))
        self.tasks = list(dict.fromkeys(r["task"] for r in self.rows))
        self.cells = [self._cell(row) for row in self.rows]
        self.headline = {task: self._headline(task, headline) for task in self.tasks}

    def _cell(self, row: dict) -> CellStat:
        key = (row["arm"], row["task"], row["language"], row["metric"])
        values = example_values(self.runs, key)
        low = high = math.nan
        if values:
            _, low, high = bootstrap_ci([values], *key)
        return CellStat(*key, row["value"], low, high, row["n"], row["runs"])

    def _headline(self, task: str, preferred: str) -> str:
        metrics = list(dict.fromkeys(c.metric for c in self.cells if c.task == task))
        with_ci = [m for m in metrics if any(c.task == task and c.metric == m and not math.isnan(c.low)
                                             for c in self.cells)]  # fmt: skip
        return preferred if preferred in metrics else (with_ci or metrics)[0]

    def languages(self, task: str, metric: str) -> list[str]:
        return list(dict.fromkeys(c.language for c in self.cells if (c.task, c.metric) == (task, metric)))

    def cell(self, arm: str, task: str, language: str, metric: str) -> CellStat | None:
        for c in self.cells:
            if (c.arm, c.task, c.language, c.metric) == (arm, task, language, metric):
                return c
        return None

    def groups(self, task: str, metric: str) -> list[GroupStat]:
        """Seen / unseen (where manifests say) and non-English macro averages per arm, with CIs.

        Languages, not tags, are compared (`xinstruct.languages.language_key`): a task's `zh-CN` (NTREX)
        is seen by an arm whose data says `zh`, while `zh-Hant` stays apart from `zh`."""
        out = []
        languages = [lang for lang in self.languages(task, metric) if lang != "all"]
        for arm in self.arms:
            seen = seen_languages(self.runs, arm)
            splits = {"non-en": [lang for lang in languages if lang != "en"]}
            if seen is not None:
                seen_keys = {language_key(tag) for tag in seen}
                splits = {
                    "seen": [lang for lang in languages if language_key(lang) in seen_keys],
                    "unseen": [lang for lang in languages if language_key(lang) not in seen_keys],
                    **splits,
                }
            for group, langs in splits.items():
                values = [example_values(self.runs, (arm, task, lang, metric)) for lang in langs]
                if not langs or not all(values):
                    continue
                value, low, high = bootstrap_ci(values, arm, task, metric, group)
                out.append(GroupStat(arm, task, metric, group, tuple(langs), value, low, high))
        return out

    def comparisons(self, task: str, metric: str) -> list[ArmComparison]:
        """Every pair of arms on the same examples (the later arm against the earlier one): per language
        and as a macro average over the non-English languages."""
        out = []
        languages = [lang for lang in self.languages(task, metric) if lang != "all"]
        for b, baseline in enumerate(self.arms):
            for arm in self.arms[b + 1 :]:
                pairs = {lang: paired_values(self.runs, (arm, task, lang, metric), baseline) for lang in languages}
                non_en = [lang for lang in languages if lang != "en" and pairs[lang]]
                if non_en:
                    result = paired_test([pairs[lang] for lang in non_en], arm, baseline, task, metric, "non-en")
                    out.append(ArmComparison(arm, baseline, task, metric, "non-en", tuple(non_en), result))
                for lang in languages:
                    if pairs[lang]:
                        result = paired_test([pairs[lang]], arm, baseline, task, metric, lang)
                        out.append(ArmComparison(arm, baseline, task, metric, lang, (lang,), result))
        return out


def significance_line(c: ArmComparison) -> str:
    """One sentence for a paper draft: difference in points, its CI and the p-value."""
    r = c.result
    where = f"{len(c.languages)} non-English languages (macro)" if c.scope == "non-en" else c.scope
    return (
        f"{c.arm} vs {c.baseline}, {c.task} {c.metric}, {where}: {100 * r.difference:+.1f} points "
        f"(95% CI [{100 * r.low:+.1f}, {100 * r.high:+.1f}]), paired permutation p = {r.p_value:.4f} "
        f"({r.pairs} example pairs){' *' if r.p_value < 0.05 else ''}"
    )
