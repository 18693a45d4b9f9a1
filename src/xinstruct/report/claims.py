"""Declared claims: what an experiment expects, checked with the statistics the report already computes.

An experiment file may state `claims: [{better: pinch, worse: english_only, task: lab_qa, metric:
accuracy, languages: non-en, margin: 0.0}]`. Each claim is the paired comparison of the two arms on the
same examples (and seeds): the macro average over the claim's languages of the per-example differences,
its paired-bootstrap 95% CI and the paired permutation p (`report.stats.paired_test`, exactly as the
significance lines). It *holds* when the CI's lower end is above `margin`. Languages: a list, `all`,
`non-en`, or `seen` / `unseen`, the languages in (not in) the `better` arm's tuning data, compared by
language. In a model grid a claim is checked per model (or for its `model` only).

The claims are read from `DIR/experiment.json` (written by `xinstruct run`), so `xinstruct report DIR`
checks them again without the experiment file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from xinstruct.languages import language_key, same_language
from xinstruct.report.evidence import paired_values, seen_languages
from xinstruct.report.stats import paired_test

EXPERIMENT = "experiment.json"  # DIR/experiment.json: the validated experiment a run was made from
CLAIMS = "claims.json"


@dataclass(frozen=True)
class ClaimResult:
    claim: dict
    model: str | None
    metric: str
    languages: tuple[str, ...]
    difference: float  # NaN: nothing to compare (the arms, task or languages have no paired examples)
    ci_low: float
    ci_high: float
    p: float
    pairs: int
    holds: bool

    def sentence(self) -> str:
        c = self.claim
        where = f" ({self.model})" if self.model else ""
        head = f"{c['better']} > {c['worse']} + {100 * c.get('margin', 0.0):g} points, {c['task']} {self.metric}"
        if math.isnan(self.difference):
            return f"**not checked**{where}: {head}: no paired examples for these arms, task and languages"
        verdict = "**holds**" if self.holds else "**does not hold**"
        return (
            f"{verdict}{where}: {head}, {len(self.languages)} languages ({', '.join(self.languages)}): "
            f"{100 * self.difference:+.1f} points (95% CI [{100 * self.ci_low:+.1f}, {100 * self.ci_high:+.1f}]), "
            f"paired permutation p = {self.p:.4f} ({self.pairs} example pairs)"
        )


def declared_claims(out: Path) -> list[dict]:
    """The claims of the experiment that produced `out` (its experiment.json); [] when none are known."""
    path = Path(out) / EXPERIMENT
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("claims") or []


def claim_languages(analysis, claim: dict, metric: str) -> list[str]:
    languages = [lang for lang in analysis.languages(claim["task"], metric) if lang != "all"]
    chosen = claim.get("languages", "non-en")
    if isinstance(chosen, list):
        return [lang for lang in languages if any(same_language(lang, want) for want in chosen)]
    if chosen == "all":
        return languages
    if chosen == "non-en":
        return [lang for lang in languages if not same_language(lang, "en")]
    seen = {language_key(tag) for tag in seen_languages(analysis.runs, claim["better"]) or set()}
    return [lang for lang in languages if (language_key(lang) in seen) == (chosen == "seen")]


def check_claim(analysis, claim: dict, model: str | None = None) -> ClaimResult:
    task = claim["task"]
    metric = claim.get("metric") or analysis.headline.get(task, "accuracy")
    better, worse = claim["better"], claim["worse"]
    every = [lang for lang in analysis.languages(task, metric) if lang != "all"]
    pairs = {lang: paired_values(analysis.runs, (better, task, lang, metric), worse) for lang in every}
    languages = [lang for lang in claim_languages(analysis, claim, metric) if pairs[lang]]
    if not languages:
        nan = math.nan
        return ClaimResult(claim, model, metric, (), nan, nan, nan, nan, 0, False)
    # seeded as the report's significance line for the same comparison (`Analysis.comparisons`), so a claim
    # over one language, or over every non-English one, gets exactly that line's CI and p
    non_en = [lang for lang in every if lang != "en" and pairs[lang]]
    label = languages[0] if len(languages) == 1 else "non-en" if languages == non_en else "+".join(languages)
    result = paired_test([pairs[lang] for lang in languages], better, worse, task, metric, label)
    holds = result.low > claim.get("margin", 0.0)
    return ClaimResult(
        claim, model, metric, tuple(languages), result.difference, result.low, result.high, result.p_value,
        result.pairs, holds,
    )  # fmt: skip


def check_claims(sections: list[tuple[str | None, object]], claims: list[dict]) -> list[ClaimResult]:
    """Every claim against every (model, analysis) section it is about."""
    return [
        check_claim(analysis, claim, model)
        for claim in claims
        for model, analysis in sections
        if claim.get("model") in (None, model)
    ]


def write_claims(out: Path, results: list[ClaimResult]) -> None:
    from xinstruct.artifacts import atomic_write_text

    rows = []
    for r in results:
        row = {k: v for k, v in asdict(r).items() if k not in ("ci_low", "ci_high")}
        row.update(ci_low=r.ci_low, ci_high=r.ci_high, languages=list(r.languages))
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    atomic_write_text(Path(out) / CLAIMS, json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


def claims_html(results: list[ClaimResult]) -> str:
    import html

    if not results:
        return ""
    items = "".join(
        f'<li class="{"sig" if r.holds else "note"}">{html.escape(r.sentence().replace("**", ""))}</li>'
        for r in results
    )
    return (
        f'<h2>Claims</h2><ul>{items}</ul><p class="note">A claim holds when the 95% CI of the paired '
        "difference is above its margin (claims.json).</p>"
    )


def claims_markdown(results: list[ClaimResult]) -> list[str]:
    if not results:
        return []
    lines = ["## Claims", ""]
    lines += [f"- {r.sentence()}" for r in results]
    lines += ["", "(a claim holds when the 95% CI of the paired difference is above its margin; claims.json)", ""]
    return lines
