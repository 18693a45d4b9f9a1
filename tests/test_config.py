import subprocess
import sys

import pytest

from xinstruct.config import load_experiment, parse_experiment
from xinstruct.errors import ConfigError

from .conftest import TINY_EXPERIMENT


def test_tiny_experiment_is_valid(tiny_experiment):
    assert tiny_experiment.languages == ["en", "qaa", "qac"]
    assert tiny_experiment.arms["pinch"].recipe_params().share == 0.25
    assert tiny_experiment.arm_train("pinch").method == "full"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("languages: [en, qaa, qac]", "languages: [en, klingon-xx]"),
            r"tiny\.yaml:4: field languages\.1: .*not a valid BCP-47",
        ),
        (("seed: 0", "seed: 0\nsede: 1"), r"tiny\.yaml:4: field sede: Extra inputs are not permitted"),
        (
            ("recipe: monolingual", "recipe: monolingal"),
            r"field arms\.english_only: unknown recipe 'monolingal'; known recipes",
        ),
        (("share: 0.25", "share: 2"), r"field arms\.pinch: parameter share: .*less than or equal to 1 \(got 2\)"),
        (("epochs: 1,", "epochs: one,"), r"field train\.epochs: .*valid number"),
        (("tasks: [lab_qa]", "tasks: [xquadd]"), r"field eval: unknown task 'xquadd'"),
        (("source: lab_en, n_examples: 40}", "source: lab_fr, n_examples: 40}"), r"unknown source 'lab_fr'"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, message):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_EXPERIMENT.replace(*change, 1))
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 0\nlanguages: [en\nmodel: lab\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_experiment(path)


def test_overrides_pass_the_same_validation():
    exp = parse_experiment(TINY_EXPERIMENT, overrides=["train.lr=5e-4", "seed=7"])
    assert exp.train.lr == 5e-4 and exp.seed == 7
    with pytest.raises(ConfigError, match="field train.lr"):
        parse_experiment(TINY_EXPERIMENT, overrides=["train.lr=-1"])


def test_cli_exits_2_and_writes_nothing_on_a_bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(TINY_EXPERIMENT.replace("share: 0.25", "share: 3"))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "xinstruct.cli", "run", str(path), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "share" in proc.stderr and "bad.yaml" in proc.stderr
    assert not out.exists()


def test_demo_preset_is_valid():
    from xinstruct.cli import demo_preset

    exp = load_experiment(demo_preset())
    assert {"english_only", "pinch"} <= set(exp.arms)
