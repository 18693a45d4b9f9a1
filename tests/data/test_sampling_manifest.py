"""The data manifest states each source's ordering and every arm's overlap with the others; NTREX lines
that the `ntrex` task scores are never demonstrations; composite arms in manifests and `data show`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.artifacts import read_manifest
from xinstruct.cli import app

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")

LAB = """
seed: 0
languages: [en, qaa, qab]
model: lab
data: {sources: {lab_en: {path: lab, format: lab}}}
arms:
  english_only: {recipe: monolingual, source: lab_en, n_examples: 60}
  small: {recipe: monolingual, source: lab_en, n_examples: 30}
  pinch: {recipe: pinch, source: lab_en, n_examples: 60, n_translated: 12, languages: [qaa, qab]}
  composite:
    - {recipe: monolingual, source: lab_en, n_examples: 40, name: base}
    - {recipe: monolingual, source: lab_en, n_examples: 10, language: qab, name: in_qab}
lab: {world: {n_people: 12}}
"""


def _build(tmp_path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["data", "build", str(path), "--out", str(out), "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return out


def test_manifest_states_orderings_and_overlaps(tmp_path):
    out = _build(tmp_path, LAB)
    pinch = read_manifest(out / "pinch" / "data")["sampling"]
    assert pinch["orderings"] == {"lab_en": "0:source:lab_en"}
    assert pinch["drawn"] == {"lab_en": 60}
    # english_only(60) vs pinch(60, 12 translated): the same 60 drawn, 48 identical English examples
    assert pinch["overlap"]["english_only"] == {"drawn": {"lab_en": 60}, "identical": 48}
    assert pinch["overlap"]["small"] == {"drawn": {"lab_en": 30}, "identical": 30}  # the first 30 stay English
    small = read_manifest(out / "small" / "data")["sampling"]
    assert small["overlap"]["english_only"] == {"drawn": {"lab_en": 30}, "identical": 30}  # 30 inside 60
    composite = read_manifest(out / "composite" / "data")
    assert composite["counts"]["part"] == {"base": 40, "in_qab": 10}
    assert composite["counts"]["language"] == {"en": 40, "qab": 10}
    assert [p["name"] for p in composite["parts"]] == ["base", "in_qab"]
    # in_qab translates the first 10 of the ordering, which base also trains on in English
    assert composite["sampling"]["overlap"]["english_only"] == {"drawn": {"lab_en": 40}, "identical": 40}
    shown = CliRunner().invoke(app, ["data", "show", str(out / "composite")])
    assert shown.exit_code == 0, shown.output
    assert "in_qab" in shown.output and "0:source:lab_en" in shown.output


NTREX = f"""
seed: 0
languages: [en, de]
model: lab
data:
  sources:
    alpaca: {{path: {SHARED_DATA}/alpaca/alpaca_data.json, format: alpaca, skip_invalid: true}}
    ntrex: {{path: {SHARED_DATA}/ntrex/NTREX-128, format: parallel, layout: per_language}}
arms:
  demos: {{recipe: translation_demos, source: alpaca, n_examples: 10, parallel: ntrex, languages: [de],
          direction: en2x, n_per_language: 300}}
eval: {{tasks: [ntrex], languages: [de], limit: LIMIT}}
lab: {{world: {{n_people: 12, languages: [en]}}}}
"""


@needs_shared
def test_ntrex_lines_scored_by_the_ntrex_task_are_not_demonstrations(tmp_path):
    from xinstruct.data.parallel import read_per_language
    from xinstruct.data.schema import read_jsonl

    out = _build(tmp_path, NTREX.replace("LIMIT", "1500"))
    evaluated = {p.source for p in read_per_language(SHARED_DATA / "ntrex" / "NTREX-128", "en", "de")[:1500]}
    demos = [ex for ex in read_jsonl(out / "demos" / "data" / "mixture.jsonl") if ex.task == "translation"]
    assert len(demos) == 300
    assert not {ex.prompt.split("\n\n", 1)[1] for ex in demos} & evaluated  # used to overlap (1500 of 1997 lines)
    notes = read_manifest(out / "demos" / "data")["notes"]
    assert notes["parallel_lines_excluded_as_eval_data"]["ntrex[en-de]"] >= 1490  # (a few lines repeat)
    # when the task scores every line, nothing is left: a clear error, not a silent overlap
    path = tmp_path / "all.yaml"
    path.write_text(NTREX.replace("LIMIT", "null"))
    args = ["data", "build", str(path), "--out", str(tmp_path / "o2"), "--cache-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "pairs; 300 are needed" in result.output
