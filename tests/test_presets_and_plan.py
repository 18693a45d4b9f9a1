"""Presets by name (the papers' grids, the lab demo) and `xinstruct plan`: counts without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.cli import app
from xinstruct.config import load_experiment
from xinstruct.presets import PAPERS, presets

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")


def test_every_preset_loads_by_name_and_is_listed():
    names = presets()
    assert {"demo", *PAPERS} <= set(names)
    for name in names:
        exp = load_experiment(name)
        assert exp.arms and exp.name
    for paper in PAPERS:
        assert load_experiment(paper).claims, paper  # every paper preset states the paper's claims
        header = [line for line in names[paper].read_text().splitlines() if line.startswith("#")]
        assert any("Differs from the paper" in line for line in header) and any("Compute" in line for line in header)
    listed = CliRunner().invoke(app, ["presets"], terminal_width=200)
    assert listed.exit_code == 0 and all(name in listed.output for name in names)
    missing = CliRunner().invoke(app, ["plan", "no-such-preset"])
    assert missing.exit_code == 2 and "nor a preset" in missing.output


def test_plan_counts_translations_and_what_the_cache_has(tmp_path):
    from xinstruct.data.translate.cache import TranslationCache, text_sha256

    rows = [{"prompt": f"Question number {i} about rivers", "completion": f"Answer number {i}."} for i in range(30)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "exp.yaml").write_text(f"""
languages: [en, de]
model: some-org/not-on-this-machine
data:
  sources: {{mine: {{path: {tmp_path}/data.jsonl, format: prompt_completion}}}}
  translator: {{backend: openai, model: served, base_url: http://127.0.0.1:9/v1}}
arms:
  english: {{recipe: monolingual, source: mine, n_examples: 20}}
  pinch: {{recipe: pinch, source: mine, n_examples: 20, n_translated: 4, languages: [de]}}
train: {{batch_size: 4, epochs: 2}}
eval: {{tasks: [xcopa], languages: [it]}}
""")
    cache = tmp_path / "cache"
    args = ["plan", str(tmp_path / "exp.yaml"), "--cache-dir", str(cache), "--json", str(tmp_path / "plan.json")]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    english, pinch = plan["arms"]
    assert english["examples"] == 20 and english["segments"] == 0 and english["steps"] == 10  # 20 / 4 x 2 epochs
    assert pinch["languages"] == {"de": 4, "en": 16}
    assert pinch["segments"] == 8 and pinch["segments_cached"] == 0  # 4 prompts + 4 responses, nothing cached
    assert english["tokens_by"].startswith("characters / 4")  # the tokenizer is not on this machine: said so
    assert plan["evals"][0]["task"] == "xcopa" and "unknown" not in result.output.split("evaluation requests")[0]
    # one segment in the cache: counted as cached, not to translate; nothing was sent anywhere
    from xinstruct.data.mixture import build_examples, recipe_context
    from xinstruct.plan import PlanningTranslator

    exp = load_experiment(tmp_path / "exp.yaml")
    from xinstruct.data.translate import make_translator

    spy = PlanningTranslator(make_translator(exp.data.translator, cache, None, False))
    build_examples(exp, "pinch", recipe_context(exp, cache, spy))
    segment = next(iter(sorted({ex.prompt for ex in build_examples(exp, "pinch", recipe_context(exp, cache, spy))[0]
                                if ex.lang == "de"})))  # fmt: skip
    TranslationCache(cache / "translations.sqlite").put_many(("openai", "served", "en", "de"),
                                                             [(text_sha256(segment), "übersetzt")])  # fmt: skip
    CliRunner().invoke(app, args, terminal_width=200)
    pinch = json.loads((tmp_path / "plan.json").read_text())["arms"][1]
    assert pinch["segments_cached"] == 1 and pinch["chars_to_translate"] < sum(len(r["prompt"]) for r in rows)


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("name", ["demo", *PAPERS])
def test_plan_runs_offline_on_every_preset(name, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])  # presets name ../shared/data from the repository root
    result = CliRunner().invoke(
        app, ["plan", name, "--cache-dir", str(tmp_path), "--json", str(tmp_path / "p.json"), "--set", "seeds=[0]"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads((tmp_path / "p.json").read_text())
    known = [a for a in plan["arms"] if a["error"] is None]
    assert known, plan["arms"]  # the sources on this machine are planned; hub-only ones say why not
    assert all("offline" in a["error"] or "Error" in a["error"] for a in plan["arms"] if a["error"])
