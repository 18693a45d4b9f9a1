"""The model and seed axes: a 2-model x 2-arm x 3-seed lab experiment, one transfer matrix per model,
seed-aware intervals and paired tests; single-valued files keep their layout."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import TINY_EXPERIMENT
from xinstruct import pipeline
from xinstruct.config import model_slug, parse_experiment
from xinstruct.errors import ConfigError

GRID = (
    TINY_EXPERIMENT.replace("seed: 0\n", "seeds: [0, 1, 2]\n")
    .replace("model: lab\n", "model: [lab, 'lab:narrow']\n")
    .replace("  pretrain: {", "  models: {narrow: {hidden_size: 16, intermediate_size: 32}}\n  pretrain: {")
)


def test_grid_cells_and_validation():
    exp = parse_experiment(GRID)
    cells = exp.cells()
    assert [(c.model, c.seed) for c in cells] == [(m, s) for m in ("lab", "lab:narrow") for s in (0, 1, 2)]
    assert {c.exp.model for c in cells} == {"lab"} and all(c.exp.seeds is None for c in cells)
    assert cells[3].exp.lab.pretrain.hidden_size == 16 and cells[0].exp.lab.pretrain.hidden_size == 32
    assert cells[4].exp.seed == 1 and cells[4].exp.world_config().seed == 1
    assert str(cells[4].path) == "lab-narrow/seed1"
    assert model_slug("meta-llama/Llama-3.2-1B") == "meta-llama--Llama-3.2-1B"
    # the old single-value form still loads, as one cell in the old layout
    single = parse_experiment(TINY_EXPERIMENT)
    assert not single.is_grid and [(c.model, c.seed) for c in single.cells()] == [("lab", 0)]
    # --set overrides one field of the grid file: one model again
    assert not parse_experiment(GRID, overrides=["model=lab", "seeds=null"]).is_grid
    for old, new, message in [
        ("model: [lab, 'lab:narrow']", "model: [lab, 'lab:wide']", r"g.yaml:\d+: field model: .*no lab variant 'wide'"),
        ("seeds: [0, 1, 2]", "seeds: [1, 1]", r"g.yaml:\d+: field seeds: .*each seed once"),
        ("seeds: [0, 1, 2]", "seeds: []", "at least 1"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_experiment(GRID.replace(old, new), "g.yaml")


@pytest.mark.slow
def test_two_models_two_arms_three_seeds_on_the_lab(tmp_path, cache_dir):
    exp = parse_experiment(GRID)
    out = tmp_path / "grid"
    timings = pipeline.run(exp, out, cache_dir)
    grid = json.loads((out / "grid.json").read_text())
    assert [(c["model"], c["seed"], c["path"]) for c in grid["cells"]] == [
        (m, s, f"{model_slug(m)}/seed{s}") for m in ("lab", "lab:narrow") for s in (0, 1, 2)
    ]
    for cell in grid["cells"]:
        for arm in ("english_only", "pinch"):
            assert (out / cell["path"] / arm / "eval" / "metrics.csv").exists()
    # the data stage is shared between the two lab models of one seed (same data key): copied, not rebuilt
    assert not any(k.startswith("lab-narrow") and k.endswith("data") for k in timings.seconds)
    a = out / "lab" / "seed1" / "pinch" / "data" / "mixture.jsonl"
    assert a.read_bytes() == (out / "lab-narrow" / "seed1" / "pinch" / "data" / "mixture.jsonl").read_bytes()
    # different seeds: different data
    assert a.read_bytes() != (out / "lab" / "seed0" / "pinch" / "data" / "mixture.jsonl").read_bytes()

    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:3] == ["model", "seed", "arm"]
    assert {(r["model"], r["seed"]) for r in rows} == {(m, str(s)) for m in ("lab", "lab:narrow") for s in (0, 1, 2)}
    report = (out / "report.md").read_text()
    assert report.count("## model lab\n") == 1 and report.count("## model lab:narrow\n") == 1
    assert report.count("### lab_qa: accuracy") == 2  # two transfer matrices
    assert "mean over 3 runs" in report
    for model in ("lab", "lab-narrow"):
        assert (out / f"transfer-{model}.png").read_bytes()[:4] == b"\x89PNG"
    html = (out / "report.html").read_text()
    assert html.count("<h2>model lab") == 2

    # the numbers: seed means, intervals resampling each seed, paired tests pairing examples and seeds
    from xinstruct.report.analysis import Analysis
    from xinstruct.report.evidence import load_runs
    from xinstruct.report.stats import bootstrap_ci

    runs = load_runs([out / "lab-narrow" / f"seed{s}" for s in (0, 1, 2)])
    analysis = Analysis(runs, "accuracy")
    cell = analysis.cell("pinch", "lab_qa", "qaa", "accuracy")
    per_seed = [r for run in runs for r in run.rows
                if (r["arm"], r["language"], r["metric"]) == ("pinch", "qaa", "accuracy")]  # fmt: skip
    assert len(per_seed) == 3 and cell.runs == 3
    assert cell.value == pytest.approx(sum(r["value"] for r in per_seed) / 3)
    values = [run.scores[("pinch", "lab_qa", "qaa", "accuracy")] for run in runs]
    arrays = [__import__("numpy").array([v[i] for i in sorted(v)]) for v in values]
    assert (cell.low, cell.high) == bootstrap_ci([arrays], "pinch", "lab_qa", "qaa", "accuracy")[1:]
    comparison = next(c for c in analysis.comparisons("lab_qa", "accuracy") if c.scope == "qaa")
    assert comparison.result.pairs == sum(len(v) for v in values)  # every example of every seed, paired
    assert "lab:narrow english_only" in str([c for c in timings.table.columns[1]._cells])  # task, arm (one metric)

    # a rerun does nothing but the report; the report alone regenerates from the directory
    again = pipeline.run(exp, out, cache_dir)
    assert set(again.seconds) <= {"lab base model", "report"}


def test_subsets_of_the_grid_run_into_one_directory_and_the_report_merges(tmp_path, cache_dir):
    """A SLURM array: each task runs one cell (`--cell I`) into the same directory; `xinstruct report` merges."""
    from typer.testing import CliRunner

    from xinstruct.cli import app

    small = GRID.replace("seeds: [0, 1, 2]", "seeds: [0, 1]")
    path = tmp_path / "grid.yaml"
    path.write_text(small)
    listed = CliRunner().invoke(app, ["cells", str(path)])
    assert listed.exit_code == 0 and "lab-narrow/seed1/pinch" in listed.output
    exp = parse_experiment(small)
    table = pipeline.cell_table(exp)
    assert len(table) == 2 * 2 * 2 and table[5] == (5, "lab:narrow", 0, "pinch", "lab-narrow/seed0/pinch")
    out = tmp_path / "out"
    common = ["--out", str(out), "--cache-dir", str(cache_dir)]
    for index in range(len(table)):  # as 8 array tasks would, one after another here
        result = CliRunner().invoke(app, ["run", str(path), *common, "--cell", str(index)])
        assert result.exit_code == 0, result.output
        assert not (out / "report.md").exists()  # a subset writes no report: it needs every cell
    for _, _, _, _, arm_dir in table:
        assert (out / arm_dir / "eval" / "metrics.csv").exists()
    merged = CliRunner().invoke(app, ["report", str(out)])
    assert merged.exit_code == 0, merged.output
    assert (out / "report.md").read_text().count("### lab_qa: accuracy") == 2
    # --arms / --seeds select too, and unknown names are errors before anything is written
    result = CliRunner().invoke(app, ["data", "build", str(path), *common, "--arms", "pinch", "--seeds", "1"])
    assert result.exit_code == 0 and "up to date" in result.output
    for bad, message in (("--arms", "nope"), ("--seeds", "7"), ("--cell", "8")):
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "x"), bad, message])
        assert result.exit_code == 2 and not (tmp_path / "x").exists(), result.output
