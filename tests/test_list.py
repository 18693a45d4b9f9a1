"""`xinstruct list recipes|tasks|presets`, each table checked against a source other than the one it prints.

Why: a listing that drifts from the code misleads every reader of it. Recipes are checked against
pydantic's own JSON schema of each `Params` model (required fields, defaults, descriptions, optional
and literal types); task metrics of generation tasks, which no attribute declares, against what the
task's `score()` (plus the runner's fidelity metrics) really returns on a few real rows; presets against
the YAML files on disk and their first comment lines, read here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from xinstruct.cli import app
from xinstruct.errors import DataError
from xinstruct.evaluate.tasks import TASKS
from xinstruct.recipes import RECIPES

PRESETS = Path(__file__).resolve().parents[1] / "src" / "xinstruct" / "presets"


def listing(what: str) -> str:
    result = CliRunner().invoke(app, ["list", what], env={"COLUMNS": "1000"})  # wide: no wrapped cells
    assert result.exit_code == 0, result.output
    return result.output


def rows(text: str) -> list[list[str]]:
    """The body rows of the rich tables in `text`, as lists of stripped cells."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]


def recipe_tables(text: str) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """recipe -> (its title line's description, {parameter: [type, default, description]})."""
    tables: dict[str, tuple[str, dict[str, list[str]]]] = {}
    current = None
    for line in text.splitlines():
        head = line.split(":", 1)[0]
        if head in RECIPES and not line.startswith(("│", "┃")):
            current = head
            tables[current] = (line.split(":", 1)[1].strip(), {})
        elif line.startswith("│") and current is not None:
            name, *cells = (cell.strip() for cell in line.split("│")[1:-1])
            tables[current][1][name] = cells
    return tables


def test_recipes_list_every_parameter_as_pydantics_schema_has_it():
    tables = recipe_tables(listing("recipes"))
    assert set(tables) == set(RECIPES)
    for name, module in RECIPES.items():
        description, params = tables[name]
        assert description and description in module.__doc__.splitlines()[0]
        schema = module.Params.model_json_schema()
        assert list(params) == list(schema["properties"]), name  # every field, in order
        for field, (type_, default, text) in params.items():
            prop = schema["properties"][field]
            assert text == prop.get("description", ""), (name, field)
            if field in schema.get("required", []):
                assert default == "required", (name, field)
            else:
                assert ast.literal_eval(default) == prop["default"], (name, field)
            options = prop.get("anyOf", [prop])
            assert type_.endswith("| None") == any(o.get("type") == "null" for o in options), (name, field, type_)
            for option in options:
                for value in option.get("enum", [option["const"]] if "const" in option else []):
                    assert repr(value) in type_, (name, field, type_)
    share = ["float | None", "None", "Share p of the N examples replaced by translations."]
    assert tables["pinch"][1]["share"] == share
    assert tables["crossin"][1]["mode"][:2] == ["'en2x' | 'x2en' | 'x2x'", "required"]
    assert tables["pinch"][1]["languages"][0] == "list[lang]"  # element types survive rich's markup


def task_rows() -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows(listing("tasks"))}


def test_tasks_list_kind_languages_metrics_and_version_of_every_task():
    listed = task_rows()
    assert set(TASKS) <= set(listed)
    for name, task in TASKS.items():
        kind, languages, metrics, version, description = listed[name]
        assert (kind, version) == (task.kind, str(task.version)), name
        shown = [lang for lang in languages.split(", ...")[0].split(", ") if lang]
        if not task.languages:  # lab_qa: whatever lab languages the experiment has
            assert languages == "every lab language", name
        else:
            assert shown == list(task.languages)[: len(shown)], name
            assert len(shown) == len(task.languages) or f"({len(task.languages)} in all)" in languages, name
        if task.kind == "multiple_choice":
            assert metrics == ", ".join(task.metrics), name
        assert description in sys.modules[type(task).__module__].__doc__.splitlines()[0], name
    # the task families named by pattern, one generic line each
    assert listed["records:SOURCE[@LANG]"][:3] == ["multiple_choice", "the source's", "acc"]
    assert listed["lm_eval:TASK"][0] == "lm-eval's"


# one generation task per task class (the metrics are listed by class): a new class without metrics fails here
GENERATION = sorted({type(t).__name__: name for name, t in reversed(TASKS.items()) if t.kind == "generation"}.values())


@pytest.mark.parametrize("name", GENERATION)
def test_generation_metrics_listed_are_what_scoring_returns(name, tiny_lab_model):
    """The listed metrics of a generation task equal the keys of its `score()` on two real rows, with the
    runner's `lingua_fidelity` and `line_pass_rate` keys where the task asks for fidelity."""
    from xinstruct.evaluate.fidelity import line_pass_rate, lingua_fidelity
    from xinstruct.evaluate.tasks.common import TaskContext

    task = TASKS[name]
    language = next((lang for lang in ("zh", "ru", "en") if lang in task.languages), None) or "en"
    ctx = TaskContext(model_dir=tiny_lab_model, data_dir=str(SHARED_DATA), limit=2)
    try:
        data = task.load(ctx, language)
    except DataError as e:
        pytest.skip(f"no data for {name}: {e}")
    predictions = ["the answer is 42. 答案是四十二。"] * len(data)
    metrics, _ = task.score(ctx, language, data, predictions)
    scored = set(metrics)
    if getattr(task, "fidelity", False):
        scored |= set(lingua_fidelity(predictions, language, ())[0]) | set(line_pass_rate(predictions, language)[0])
    assert set(task_rows()[name][2].split(", ")) == scored


def test_presets_list_every_yaml_file_with_its_first_comment_line():
    listed = {row[0]: row[1:] for row in rows(listing("presets"))}
    files = sorted(PRESETS.rglob("*.yaml"))
    assert files and {row[1] for row in listed.values()} == {str(p.relative_to(PRESETS)) for p in files}
    for path in files:
        first = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
        (name,) = [n for n, (_, file) in listed.items() if file == str(path.relative_to(PRESETS))]
        assert listed[name][0] == first.lstrip("#").strip(), path
    assert listed["demo"][1] == "lab_demo.yaml"


def test_list_something_else_says_what_it_lists():
    result = CliRunner().invoke(app, ["list", "models"])
    assert result.exit_code == 2 and "recipes, tasks, presets" in result.output
