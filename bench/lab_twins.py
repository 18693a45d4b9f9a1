"""The papers' lab twins on several seeds, cold: how long they take and what they show.

    python bench/lab_twins.py [--seeds 0 1 2] [--papers pinch ...] [--out /tmp/xinstruct-twins] [--warm]

Runs `xinstruct demo --paper P --seed S` for every twin and seed with its own cache directory (emptied
first unless --warm, so the base model of each seed is built once, as on a fresh machine), then prints
markdown: the wall time of every run and in all, each declared claim per seed (difference, 95% CI,
holds), and per twin and seed the headline metric of every arm (non-English macro average and English),
so a twin that states no claim still shows its numbers. The README's "Lab twins" table comes from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

PAPERS = ("pinch", "english-only", "crossalpaca", "crossin", "templates")


def run_twin(paper: str, seed: int, out: Path, cache: Path) -> float:
    t0 = time.perf_counter()
    command = [sys.executable, "-m", "xinstruct.cli", "demo", "--paper", paper, "--seed", str(seed)]
    proc = subprocess.run([*command, "--out", str(out), "--cache-dir", str(cache)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{paper} seed {seed} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


# Besides the headline metric: what else shows a twin's direction (the judged language of English-only
# tuning; CrossIn's consistency across languages, reported for language "all" only; CrossAlpaca's x-Alpaca
# arms in their language qaa), as (metric, one language or None).
ALSO = {
    "english-only": [("language", None)],
    "crossin": [("consistency_3", None), ("ac3_3", None)],
    "crossalpaca": [("accuracy", "qaa")],
}


def metric_table(out: Path, metric: str | None = None, language: str | None = None) -> tuple[str, str, dict[str, str]]:
    """(task, metric, {arm: "non-English macro average (English)"}) in %, or the value for language "all"
    where a metric has no per-language rows, or for `language` alone; `metric` defaults to the headline."""
    exp = json.loads((out / "experiment.json").read_text())
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    metric = metric or exp["report"]["metric"]
    task = next(r["task"] for r in rows if r["metric"] == metric)
    table = {}
    for arm in exp["arms"]:
        mine = [r for r in rows if (r["arm"], r["task"], r["metric"]) == (arm, task, metric)]
        values = {r["language"]: 100 * float(r["value"]) for r in mine}
        non_en = [v for lang, v in values.items() if lang not in ("en", "all")]
        if language:
            table[arm] = f"{values[language]:.1f}"
        elif non_en:
            table[arm] = f"{sum(non_en) / len(non_en):.1f} ({values['en']:.1f})"
        else:
            table[arm] = f"{values['all']:.1f}"
    return task, metric, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--papers", nargs="+", default=list(PAPERS), choices=PAPERS)
    parser.add_argument("--out", type=Path, default=Path("/tmp/xinstruct-twins"))
    parser.add_argument("--warm", action="store_true", help="keep the cache (base models) from an earlier run")
    parser.add_argument("--print-only", action="store_true", help="run nothing; print from the outputs in --out")
    args = parser.parse_args()
    cache = args.out / "cache"
    if not (args.warm or args.print_only):
        shutil.rmtree(cache, ignore_errors=True)
    seconds: dict[tuple[str, int], float] = {}
    for seed in [] if args.print_only else args.seeds:
        for paper in args.papers:
            shutil.rmtree(args.out / f"{paper}-s{seed}", ignore_errors=True)
            seconds[paper, seed] = run_twin(paper, seed, args.out / f"{paper}-s{seed}", cache)
            print(f"{paper} seed {seed}: {seconds[paper, seed]:.0f} s", file=sys.stderr)

    seeds = " | ".join(f"seed {s}" for s in args.seeds)
    if seconds:
        print(
            f"## Wall time ({'warm' if args.warm else 'cold'} cache)\n\n| twin | {seeds} |\n|---|"
            + "---|" * len(args.seeds)
        )
        for paper in args.papers:
            print(f"| {paper} | " + " | ".join(f"{seconds[paper, s]:.0f} s" for s in args.seeds) + " |")
        print(f"\nall {len(seconds)} runs: {sum(seconds.values()) / 60:.1f} min\n")

    print(f"## Claims\n\n| twin | claim | languages | {seeds} |\n|---|---|---|" + "---|" * len(args.seeds))
    for paper in args.papers:
        per_seed = []
        for s in args.seeds:
            path = args.out / f"{paper}-s{s}" / "claims.json"
            per_seed.append(json.loads(path.read_text()) if path.exists() else [])
        if not per_seed[0]:
            print(f"| {paper} | (none stated) | | " + " | ".join("" for _ in args.seeds) + " |")
        for i, claim in enumerate(per_seed[0]):
            c = claim["claim"]
            cells = []
            for results in per_seed:
                r = results[i]
                mark = "holds" if r["holds"] else "does not hold"
                cells.append(
                    f"{100 * r['difference']:+.1f} [{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}] {mark}"
                )
            languages = " ".join(claim["languages"]) if isinstance(claim["languages"], list) else claim["languages"]
            print(
                f"| {paper} | {c['better']} > {c['worse']}, {claim['metric']} | {languages} | "
                + " | ".join(cells)
                + " |"
            )

    print("\n## Per arm: non-English macro average (English), % (one number: language 'all')\n")
    for paper in args.papers:
        for metric, language in [(None, None), *ALSO.get(paper, [])]:
            tables = {s: metric_table(args.out / f"{paper}-s{s}", metric, language) for s in args.seeds}
            task, name, _ = tables[args.seeds[0]]
            title = f"{paper}: {task} {name}" + (f" in {language}" if language else "")
            print(f"{title}\n\n| arm | {seeds} |\n|---|" + "---|" * len(args.seeds))
            for arm in tables[args.seeds[0]][2]:
                print(f"| {arm} | " + " | ".join(tables[s][2][arm] for s in args.seeds) + " |")
            print()


if __name__ == "__main__":
    main()
