"""Bad input caught at load time (issue: real models with the lab's pieces, languages no task has, translations
the translator cannot make): each a config error naming the file, line and field; exit 2, nothing written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from xinstruct.cli import app
from xinstruct.config import parse_experiment
from xinstruct.errors import ConfigError

REAL = """
languages: [en, de]
model: some-org/some-model
data:
  sources: {alpaca: {path: alpaca.json, format: alpaca}}
  translator: {backend: hf, model: 'Helsinki-NLP/opus-mt-{src}-{tgt}'}
arms:
  english: {recipe: monolingual, source: alpaca, n_examples: 100}
  pinch: {recipe: pinch, source: alpaca, n_examples: 100, n_translated: 10, languages: [de]}
eval: {tasks: [xquad]}
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # a real model keeping the default lab_qa (was a KeyError traceback from the data stage)
        ("eval: {tasks: [xquad]}\n", "", r"exp.yaml:3: field model: .*task lab_qa exist only in the lab"),
        ("languages: [en, de]", "languages: [en, qaa]", r"field model: .*lab languages \['qaa'\]"),
        # model: lab with real languages in its world
        ("model: some-org/some-model", "model: lab", r"field model: model lab: the lab world has only"),
        # an evaluation language that no task has (xquad has no Swahili)
        ("eval: {tasks: [xquad]}", "eval: {tasks: [xquad], languages: [en, sw]}",
         r"exp.yaml:\d+: field eval.languages: .*no task has \['sw'\] \(xquad: ar de el en"),
        # a lab language the hf translator cannot produce
        ("languages: [de]}", "languages: [de, qaa]}",
         r"field arms.pinch: arm 'pinch': lab languages \['qaa'\] can only be produced by the lab translator"),
        # the lab translator asked to translate real text
        ("  translator: {backend: hf, model: 'Helsinki-NLP/opus-mt-{src}-{tgt}'}\n", "",
         r"field arms.pinch: .*with the lab translator, which translates only the lab's own English"),
    ],
)  # fmt: skip
def test_guards(old, new, message):
    assert old in REAL
    with pytest.raises(ConfigError, match=message):
        parse_experiment(REAL.replace(old, new), "exp.yaml")


def test_a_task_lacking_some_languages_warns_at_load_time(capsys):
    exp = parse_experiment(REAL.replace("eval: {tasks: [xquad]}", "eval: {tasks: [xquad, xcopa], languages: [de, it]}"))
    assert exp.eval.tasks == ["xquad", "xcopa"]
    err = capsys.readouterr().err
    assert "task xquad has no ['it']" in err and "task xcopa has no ['de']" in err


def test_the_lab_model_with_real_data_is_fine_when_its_world_is_the_labs():
    lab = "eval: {tasks: [lab_qa], languages: [en]}\nlab: {world: {languages: [en]}}"
    parse_experiment(REAL.replace("model: some-org/some-model", "model: lab").replace("eval: {tasks: [xquad]}", lab))


def test_guard_errors_exit_2_and_write_nothing(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(REAL.replace("eval: {tasks: [xquad]}\n", ""))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "lab_qa" in result.output and not (tmp_path / "out").exists()
