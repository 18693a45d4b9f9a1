"""`xinstruct data show DIR/ARM`: an arm's mixture manifest as tables, plus sample examples."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from xinstruct.artifacts import read_manifest
from xinstruct.data.mixture import MIXTURE
from xinstruct.data.schema import read_jsonl
from xinstruct.errors import XinstructError


def show_mixture(arm_dir: Path, samples: int = 2) -> list:
    data_dir = Path(arm_dir) / "data"
    manifest = read_manifest(data_dir)
    if manifest is None:
        raise XinstructError(f"{data_dir}: no finished mixture here (run `xinstruct data build` first)")
    if "parts" in manifest:
        what = "parts " + "; ".join(f"{p['name']} = {p['recipe']} {p['params']}" for p in manifest["parts"])
    else:
        what = f"recipe {manifest['recipe']} {manifest['params']}"
    out: list = [
        f"[bold]{arm_dir}[/bold]: {what}, {manifest['n_examples']} examples, sha256 {manifest['mixture_sha256'][:12]}"
    ]
    for what, counts in manifest["counts"].items():
        if not isinstance(counts, dict):
            out.append(f"{what}: {counts}")
            continue
        table = Table(title=f"by {what}")
        table.add_column(what)
        table.add_column("examples", justify="right")
        for key, n in counts.items():
            table.add_row(key, str(n))
        out.append(table)
    for key, value in manifest.get("notes", {}).items():
        out.append(f"{key}: {value}")
    sampling = manifest.get("sampling")
    if sampling and sampling.get("drawn"):
        table = Table(title="sampling: the first examples of each source's one seeded ordering")
        for column in ("source", "ordering seed", "drawn"):
            table.add_column(column, justify="right", overflow="fold")
        for key, n in sampling["drawn"].items():
            table.add_row(key, sampling["orderings"][key], str(n))
        out.append(table)
        for other, o in sampling["overlap"].items():
            drawn = ", ".join(f"{n} of {key}" for key, n in o["drawn"].items())
            out.append(f"shared with {other}: {drawn} drawn by both; {o['identical']} identical examples")
    lengths = manifest.get("lengths")
    if lengths:
        table = Table(title="lengths" + (f" (tokens: {lengths['tokens']})" if lengths.get("tokens") else ""))
        for column in ("", "mean", "median", "p95", "max", "total"):
            table.add_column(column, justify="right")
        for what, stats in lengths.items():
            if what != "tokens":
                table.add_row(what, *(str(stats[k]) for k in ("mean", "median", "p95", "max", "total")))
        out.append(table)
    contamination = manifest.get("contamination")
    if contamination:
        out.append(
            f"contamination ({contamination['ngram']}-grams vs {', '.join(contamination['checked_against'])}): "
            f"{contamination['flagged']} flagged {contamination['per_eval_set']}"
            + (f", {contamination['dropped']} dropped" if "dropped" in contamination else "")
        )
    shown: dict[str, int] = {}
    table = Table(title="samples")
    for column in ("lang", "prompt", "response"):
        table.add_column(column, overflow="fold")
    for ex in read_jsonl(data_dir / MIXTURE):
        if shown.get(ex.lang, 0) < samples:
            shown[ex.lang] = shown.get(ex.lang, 0) + 1
            table.add_row(ex.lang, ex.prompt[:200], ex.response[:200])
    out.append(table)
    return out
