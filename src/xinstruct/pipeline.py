"""The experiment, stage by stage: data -> train -> evaluate for every arm, then report.

Each stage writes `DIR/<arm>/<stage>/` atomically (temp dir, manifest last, rename) and
records in its manifest a content key: the sha256 of its config slice, the upstream
stage's key and `STAGE_VERSION`. A rerun whose key matches skips the stage; a changed
config or upstream rebuilds it and everything downstream.

An experiment with a model list or a seed list is a grid: each cell (model x seed) is run as a
single-model, single-seed experiment into `DIR/<model>/seed<S>/` (`Experiment.cells`), the cells
listed in `DIR/grid.json`; a cell's data stage is copied from another model's cell of the same
seed when its key is the same (the lab's variants of one vocabulary), not rebuilt. The report
then shows one transfer matrix per model over its seeds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from xinstruct.artifacts import atomic_dir, content_key, is_complete, read_manifest, write_manifest
from xinstruct.config import Experiment
from xinstruct.environment import environment
from xinstruct.errors import XinstructError
from xinstruct.quiet import stage_log, verbose

GRID = "grid.json"  # DIR/grid.json: the cells of a model x seed grid, for the report

STAGE_VERSION = 3  # 3: one seeded ordering per source (arms draw prefixes of it); composable arms
CHECKPOINTS = "train.checkpoints"  # DIR/<arm>/train.checkpoints/<key>/checkpoint-N: kept until training publishes


def world() -> tuple[int, int]:
    """(rank, world size) under torchrun / accelerate launch; (0, 1) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


STAGES = ("data", "train", "eval")
console = Console(stderr=True)


@dataclass
class Timings:
    """Wall seconds per (arm, stage), printed at the end of a run ("where the time goes")."""

    seconds: dict[str, float] = field(default_factory=dict)
    table: Table | None = None  # the report's arms x languages table, when the report ran

    def add(self, what: str, seconds: float) -> None:
        self.seconds[what] = self.seconds.get(what, 0.0) + seconds


def resolve_model(exp: Experiment, cache_dir: Path, timings: Timings | None = None) -> tuple[str, str]:
    """(model path or hub id, identity for cache keys). `lab` builds or reuses the lab base model."""
    if exp.model != "lab":
        path = Path(exp.model)
        return (str(path.resolve()), str(path.resolve())) if path.exists() else (exp.model, exp.model)
    from xinstruct.lab.pretrain import build_base_model, lab_model_dir

    if world()[1] > 1 and not is_complete(*lab_model_dir(exp.world_config(), exp.lab.pretrain, cache_dir)):
        raise XinstructError("the lab base model is not built yet: run `xinstruct data build` or `xinstruct run` once")
    t0 = time.perf_counter()
    path = build_base_model(exp.world_config(), exp.lab.pretrain, cache_dir)
    if timings is not None:
        timings.add("lab base model", time.perf_counter() - t0)
    return str(path), read_manifest(path)["key"]


def stage_key(exp: Experiment, arm: str, stage: str, model_id: str) -> str:
    """The content key of one arm's stage: its config slice plus the keys upstream of it."""
    slices = {
        "data": {
            "arm": exp.arms[arm].describe(),
            "data": exp.data.model_dump(),
            "eval_sets": [exp.eval.tasks, exp.eval_languages] if exp.data.decontaminate else None,
            "tokenizer": [exp.model, exp.lab.pretrain.vocab_size],  # length statistics in tokens
            "seed": exp.seed,
            "world": exp.world_config().model_dump(),
        },
        "train": {"train": exp.arm_train(arm).model_dump(), "model": model_id, "seed": exp.seed},
        "eval": {"eval": exp.eval.model_dump(), "languages": exp.eval_languages},
    }
    upstream = STAGES[: STAGES.index(stage) + 1]
    return content_key({"version": STAGE_VERSION, **{s: slices[s] for s in upstream}})


def run_stage(
    exp: Experiment,
    arm: str,
    stage: str,
    out: Path,
    model: tuple[str, str],
    cache_dir: Path,
    timings: Timings | None = None,
    label: str = "",
    share_from: list[Path] = (),
) -> Path:
    """Run one stage of one arm unless its output is complete with the same key; return its dir.

    `share_from`: other output directories (cells of the same seed) whose complete stage with the same
    key is copied instead of recomputed (the data stage across models of a grid)."""
    stage_dir = out / arm / stage
    key = stage_key(exp, arm, stage, model[1])
    name = f"{label}{arm}/{stage}"
    if is_complete(stage_dir, key):
        console.print(f"[dim]{name}: up to date, skipped[/dim]")
        return stage_dir
    for other in share_from:
        if is_complete(other / arm / stage, key):
            with atomic_dir(stage_dir) as tmp:
                shutil.copytree(other / arm / stage, tmp, dirs_exist_ok=True)
            console.print(f"[dim]{name}: same as {other / arm / stage}, copied[/dim]")
            return stage_dir
    if stage != "data":
        upstream = STAGES[STAGES.index(stage) - 1]
        if not is_complete(out / arm / upstream, stage_key(exp, arm, upstream, model[1])):
            command = "data build" if upstream == "data" else upstream
            raise XinstructError(f"{out / arm / upstream}: missing or out of date; run `xinstruct {command}` first")
    if verbose():
        console.print(f"[bold]{name}[/bold]: running")
    t0 = time.perf_counter()
    rank, _ = world()
    if rank != 0:  # every rank trains; only rank 0 publishes the stage directory
        with tempfile.TemporaryDirectory(prefix=f"xinstruct-rank{rank}-") as tmp, stage_log(Path(tmp) / "log.txt"):
            STAGE_RUNNERS[stage](exp, arm, out, model, Path(tmp), cache_dir)
        return stage_dir
    with atomic_dir(stage_dir) as tmp:
        with stage_log(tmp / "log.txt"):  # other libraries' bars, warnings and log lines: DIR/<arm>/<stage>/log.txt
            summary = STAGE_RUNNERS[stage](exp, arm, out, model, tmp, cache_dir)
        write_manifest(
            tmp,
            {
                "stage": stage,
                "arm": arm,
                "key": key,
                "seed": exp.seed,
                "seconds": round(time.perf_counter() - t0, 2),
                "environment": environment(),  # versions, device, CPU kernels, commit: not part of the key
                **summary,
            },
        )
    if stage == "train":
        shutil.rmtree(out / arm / CHECKPOINTS, ignore_errors=True)  # published: nothing left to resume
    seconds = time.perf_counter() - t0
    console.print(f"[bold]{name}[/bold]: {_one_line(stage, summary)} ({seconds:.1f} s)", highlight=False)
    if timings is not None:
        timings.add(f"{label.replace('/', ' ')}{arm} {stage}", seconds)
    return stage_dir


def _one_line(stage: str, summary: dict) -> str:
    """The stage's summary line: what it made."""
    if stage == "data":
        languages = ", ".join(f"{k} {v}" for k, v in summary.get("counts", {}).get("language", {}).items())
        return f"{summary.get('n_examples', '?')} examples ({languages})"
    if stage == "train":
        loss = summary.get("train_loss")
        return f"{summary.get('steps', '?')} steps" + (f", loss {loss:.3f}" if isinstance(loss, float) else "")
    return f"{summary.get('n_metrics', '?')} metrics"


def _data(exp: Experiment, arm: str, out: Path, model: tuple[str, str], tmp: Path, cache_dir: Path) -> dict:
    from xinstruct.data.mixture import build_mixture

    return build_mixture(exp, arm, tmp, cache_dir)


def _train(exp: Experiment, arm: str, out: Path, model: tuple[str, str], tmp: Path, cache_dir: Path) -> dict:
    from xinstruct.data.mixture import MIXTURE
    from xinstruct.train.sft import train

    data_dir = out / arm / "data"
    checkpoints = out / arm / CHECKPOINTS / stage_key(exp, arm, "train", model[1])[:16]
    for stale in (out / arm / CHECKPOINTS).glob("*"):  # checkpoints of another config never resume this one
        if stale != checkpoints:
            shutil.rmtree(stale, ignore_errors=True)
    manifest = read_manifest(data_dir)
    return train(model[0], data_dir / MIXTURE, exp.arm_train(arm), exp.seed, tmp, checkpoints, manifest)


def _eval(exp: Experiment, arm: str, out: Path, model: tuple[str, str], tmp: Path, cache_dir: Path) -> dict:
    from xinstruct.evaluate.device import resolve_placement
    from xinstruct.evaluate.parallel import Shards
    from xinstruct.evaluate.runner import evaluate
    from xinstruct.evaluate.tasks.common import TaskContext
    from xinstruct.evaluate.tasks.records import clusters_of, expand_tasks

    ctx = TaskContext(
        model_dir=Path(model[0]),
        data_dir=exp.eval.data_dir,
        limit=exp.eval.limit,
        prompt_language=exp.eval.prompt_language,
        candidate_languages=tuple(exp.eval_languages),
        record_sources=exp.data.sources,
        record_templates=exp.eval.templates,
    )
    tasks = expand_tasks(exp.eval, exp.data.sources)  # records:SOURCE -> one task per template language
    placement = resolve_placement(exp.eval.device, exp.eval.dtype, exp.eval.device_map, lab=exp.model == "lab")
    shards = Shards.from_env()  # under a launcher: this rank's share of every task's batches
    rows = evaluate(
        arm,
        out / arm / "train",
        ctx,
        tasks,
        exp.eval_languages,
        exp.eval.max_new_tokens,
        exp.eval.batch_size,
        tmp,
        cache_dir,  # the request cache lives outside tmp: a killed eval stage resumes from it
        exp.eval.engine,
        placement,
        shards,
        lm_eval=exp.eval.lm_eval,
    )
    clusters = clusters_of(tasks, exp.data.sources)  # the report tells held-out clusters from tuned ones by these
    summary = {"n_metrics": len(rows), **shards.summary()}  # world_size, requests_per_rank (every rank takes part)
    return {**summary, **({"record_clusters": clusters} if clusters else {})}


STAGE_RUNNERS: dict[str, Callable[..., dict]] = {"data": _data, "train": _train, "eval": _eval}


def run_judges(exp: Experiment, out: Path, cache_dir: Path, model: tuple[str, str], timings: Timings) -> None:
    """The judge step (`xinstruct.evaluate.judge.run`) over every trained arm; cached, so cheap to rerun."""
    from xinstruct.evaluate.judge.run import judge_experiment

    missing = [arm for arm in exp.arms if not (out / arm / "train").exists()]
    if missing:
        raise XinstructError(f"judge: arms {missing} have no trained model under {out}: run `xinstruct train` first")
    t0 = time.perf_counter()
    base = Path(model[0]) if exp.model == "lab" else None
    judge_experiment(exp, out, cache_dir, base)
    timings.add("judge", time.perf_counter() - t0)


@dataclass(frozen=True)
class Selection:
    """A subset of the grid to run (a SLURM array task's share): arms, models, seeds, or one cell by index.

    Cells are numbered model by model, seed by seed, arm by arm (`xinstruct cells EXP.yaml` lists them);
    the outputs go where the whole grid's would, so `xinstruct report DIR` merges every task's."""

    arms: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    cell: int | None = None

    @property
    def is_subset(self) -> bool:
        return bool(self.arms or self.models or self.seeds) or self.cell is not None

    def units(self, exp: Experiment) -> list[tuple]:
        """The selected (cell, arm) pairs, in order; ConfigError naming what is unknown."""
        from xinstruct.errors import ConfigError

        for what, chosen, known in (
            ("--arms", self.arms, list(exp.arms)),
            ("--models", self.models, exp.models),
            ("--seeds", self.seeds, [c.seed for c in exp.cells()]),
        ):
            unknown = [x for x in chosen if x not in known]
            if unknown:
                raise ConfigError(f"{what}: {unknown} not in the experiment; it has {list(dict.fromkeys(known))}")
        units = [(cell, arm) for cell in exp.cells() for arm in exp.arms]
        if self.cell is not None:
            if not 0 <= self.cell < len(units):
                raise ConfigError(f"--cell {self.cell}: the grid has {len(units)} cells (models x seeds x arms), 0..")
            return [units[self.cell]]
        return [
            (cell, arm)
            for cell, arm in units
            if (not self.arms or arm in self.arms)
            and (not self.models or cell.model in self.models)
            and (not self.seeds or cell.seed in self.seeds)
        ]


def run(
    exp: Experiment,
    out: Path,
    cache_dir: Path,
    stages: tuple[str, ...] = STAGES,
    report: bool = True,
    selection: Selection = Selection(),
) -> Timings:
    """Run `stages` for every arm (of every cell of a grid, or the selected ones) in order, then the report;
    return where the time went. A subset run writes no report and runs no judge: both need every arm."""
    timings = Timings()
    if world()[1] > 1 and tuple(stages) not in (("train",), ("eval",)):
        raise XinstructError(
            "under torchrun / accelerate launch only `xinstruct train` and `xinstruct eval` run (one stage each): "
            "build the data first (`xinstruct data build`) in one process"
        )
    cells = exp.cells()
    units = selection.units(exp)
    for cell in cells:
        arms = [arm for c, arm in units if (c.model, c.seed) == (cell.model, cell.seed)]
        if not arms:
            continue
        cell_out = out / cell.path if exp.is_grid else out
        label = f"{cell.path}/" if exp.is_grid else ""
        same_seed = [out / other.path for other in cells if other.seed == cell.seed and other is not cell]
        cell_exp = cell.exp
        model = resolve_model(cell_exp, cache_dir, timings) if set(stages) & {"train", "eval"} else ("", "")
        for arm in arms:
            for stage in stages:
                share = same_seed if stage == "data" and exp.is_grid else []
                run_stage(cell_exp, arm, stage, cell_out, model, cache_dir, timings, label, share)
        if cell_exp.judge is not None and "eval" in stages and not selection.is_subset and world()[0] == 0:
            run_judges(cell_exp, cell_out, cache_dir, model, timings)  # under a launcher: rank 0's GPU alone
    if world()[0] == 0:  # after the stages: a run that failed on bad data leaves nothing behind
        write_experiment(exp, out)
        if exp.is_grid:
            write_grid(exp, out)
    if selection.is_subset:
        if report or exp.judge is not None:
            console.print(
                f"[dim]a subset of the grid ran ({len(units)} of {len(cells) * len(exp.arms)} cells): once every "
                f"cell has run, `xinstruct report {out}`" + (" and `xinstruct judge`" if exp.judge else "") + "[/dim]"
            )
        return timings
    if report:
        from xinstruct.report.build import make_report

        t0 = time.perf_counter()
        timings.table = make_report(out, exp.report.metric, title=exp.name)
        timings.add("report", time.perf_counter() - t0)
    return timings


def cell_table(exp: Experiment) -> list[tuple[int, str, int, str, str]]:
    """(index, model, seed, arm, output dir) of every cell of the grid, as `--cell` numbers them."""
    units = Selection().units(exp)
    return [
        (i, cell.model, cell.seed, arm, str((cell.path if exp.is_grid else Path(".")) / arm))
        for i, (cell, arm) in enumerate(units)
    ]


def write_experiment(exp: Experiment, out: Path) -> None:
    """DIR/experiment.json: the validated experiment (its claims are what `xinstruct report DIR` checks)."""
    import json

    from xinstruct.artifacts import atomic_write_text
    from xinstruct.report.claims import EXPERIMENT

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / EXPERIMENT, json.dumps(exp.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n")


def write_grid(exp: Experiment, out: Path) -> None:
    """DIR/grid.json: the grid's cells (model as written, seed, directory), so `xinstruct report DIR` finds them."""
    import json

    from xinstruct.artifacts import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    cells = [{"model": c.model, "seed": c.seed, "path": str(c.path)} for c in exp.cells()]
    atomic_write_text(out / GRID, json.dumps({"name": exp.name, "arms": list(exp.arms), "cells": cells}, indent=2))
