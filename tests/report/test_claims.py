"""Declared claims: checked with the report's paired statistics, written to claims.json, shown first."""

from __future__ import annotations

import json

import pytest

from tests.report.test_report import fake_experiment
from xinstruct.config import parse_experiment
from xinstruct.errors import ConfigError
from xinstruct.report.build import make_report
from xinstruct.report.evidence import load_runs, paired_values
from xinstruct.report.stats import paired_test

EXP = """
languages: [en, qaa, qab]
model: lab
data: {sources: {lab_en: {path: lab, format: lab}}}
arms:
  english_only: {recipe: monolingual, source: lab_en, n_examples: 40}
  pinch: {recipe: pinch, source: lab_en, n_examples: 40, share: 0.25, languages: [qaa]}
claims:
  - {better: pinch, worse: english_only, task: lab_qa, metric: accuracy, languages: non-en}
  - {better: pinch, worse: english_only, task: lab_qa, languages: [en]}
  - {better: pinch, worse: english_only, task: lab_qa, languages: non-en, margin: 0.6}
  - {better: pinch, worse: english_only, task: lab_qa, languages: unseen}
"""


def test_claims_are_validated_with_file_and_line():
    exp = parse_experiment(EXP)
    assert [c.languages for c in exp.claims] == ["non-en", ["en"], "non-en", "unseen"]
    for old, new, message in [
        ("better: pinch, worse: english_only, task: lab_qa, metric", "better: nope, worse: english_only, task: lab_qa, "
         "metric", r"exp.yaml:\d+: field claims.0: claims 0: better 'nope' is no arm"),
        ("languages: unseen}", "languages: somewhere}", r"exp.yaml:\d+: field claims.3.languages"),
    ]:  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            parse_experiment(EXP.replace(old, new), "exp.yaml")


def test_claims_json_and_report_sections(tmp_path):
    out = fake_experiment(tmp_path / "run")
    exp = parse_experiment(EXP)
    (out / "experiment.json").write_text(json.dumps(exp.model_dump(mode="json")))
    make_report(out, title="claims")
    claims = json.loads((out / "claims.json").read_text())
    assert [set(c) >= {"claim", "difference", "ci_low", "ci_high", "p", "holds"} for c in claims] == [True] * 4
    non_en, english, margin, unseen = claims
    # the claim's numbers are the paired test's on the same examples (an independent recomputation)
    runs = load_runs([out])
    pairs = [paired_values(runs, ("pinch", "lab_qa", lang, "accuracy"), "english_only") for lang in ("qaa", "qab")]
    expected = paired_test(pairs, "pinch", "english_only", "lab_qa", "accuracy", "non-en")
    assert non_en["difference"] == pytest.approx(expected.difference) and non_en["p"] == expected.p_value
    assert (non_en["ci_low"], non_en["ci_high"]) == (expected.low, expected.high)
    assert non_en["holds"] is True and non_en["languages"] == ["qaa", "qab"]
    assert english["holds"] is False  # equal in English: the CI covers 0
    assert margin["holds"] is False and margin["ci_low"] < 0.6  # better, but not by 60 points
    assert unseen["languages"] == ["qab"]  # pinch was tuned on qaa (its manifest): qab is unseen
    md = (out / "report.md").read_text()
    assert md.index("## Claims") < md.index("## Significance")  # claims come first
    # the same comparison reads the same in the claim and in its significance line (one seeded bootstrap)
    ci = f"95% CI [{100 * expected.low:+.1f}, {100 * expected.high:+.1f}]"
    assert ci in md.split("## Significance")[1] and ci in md.split("## Significance")[0]
    assert "**holds**" in md and "**does not hold**" in md
    html = (out / "report.html").read_text()
    assert html.index("<h2>Claims</h2>") < html.index("<h2>Significance</h2>")
