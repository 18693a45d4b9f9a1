"""Bench: build a 1,000,000-example `pinch` mixture and report time and peak memory.

    .venv/bin/python bench/data_build.py [--examples 1000000] [--workdir /tmp/xinstruct-bench]

Setup (not timed): the English Alpaca from ../shared/data is blown up to N distinct records
(copies get " (variant k)" appended to the instruction) in an Alpaca-format JSONL file, and
the translation cache is pre-filled by running the recipe once with an instant stand-in
backend. Timed: a fresh `xinstruct data build` process over that
file (pinch, 1% translated into 4 languages, translations served from the cache; the
configured endpoint does not exist, so any cache miss would fail). Prints
`data_build: N examples in T s, peak RSS M MiB` (goal on a 2-core laptop: T <= 60, M <= 2048).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "alpaca" / "alpaca_data.json"

EXPERIMENT = """
name: bench-data-build
seed: 0
languages: [en, de, zh, ru, sw]
model: lab
data:
  sources:
    big: {{path: {source}, format: alpaca, skip_invalid: true}}
  translator: {{backend: openai, model: bench-mt, base_url: "http://127.0.0.1:9/v1", max_retries: 0, timeout: 1}}
arms:
  pinch: {{recipe: pinch, source: big, share: 0.01, languages: [de, zh, ru, sw]}}
eval: {{tasks: [lab_qa], languages: [en]}}
lab:
  world: {{languages: [en]}}
"""


def blow_up(n: int, path: Path) -> None:
    rows = [r for r in json.loads(SHARED.read_text(encoding="utf-8")) if r["output"].strip()]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            row = dict(rows[i % len(rows)])
            if i >= len(rows):  # every record distinct, so no stage gains from duplicates
                row["instruction"] += f" (variant {i // len(rows)})"
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def prefill(experiment: Path, cache: Path) -> None:
    """Run the arm's recipe once, untimed, with an instant stand-in backend filling the translation cache."""
    from xinstruct.config import load_experiment
    from xinstruct.data import translate
    from xinstruct.data.mixture import recipe_context
    from xinstruct.data.translate.backends import OpenAIBackend
    from xinstruct.recipes import RECIPES

    class StandIn(OpenAIBackend):  # same backend name and model, so the cache keys match
        def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
            return [f"[{tgt}] {text}" for text in texts]

    translate.make_backend = lambda cfg, world_config=None: StandIn(cfg)
    exp = load_experiment(experiment)
    arm = exp.arms["pinch"]
    RECIPES[arm.recipe].build(arm.recipe_params(), recipe_context(exp, cache))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/xinstruct-bench"))
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"bench needs {SHARED} (the team's shared data)")
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source, experiment, cache = work / "big.jsonl", work / "exp.yaml", work / "cache"
    t0 = time.perf_counter()
    blow_up(args.examples, source)
    experiment.write_text(EXPERIMENT.format(source=source))
    prefill(experiment, cache)
    print(f"setup: {time.perf_counter() - t0:.1f} s (source file, translation cache)", file=sys.stderr)

    xinstruct = [sys.executable, "-m", "xinstruct.cli"]
    command = [*xinstruct, "data", "build", str(experiment), "--out", str(work / "out"), "--cache-dir", str(cache)]
    t0 = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"data build failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    manifest = json.loads((work / "out" / "pinch" / "data" / "manifest.json").read_text())
    n = manifest["n_examples"]
    print(f"counts: {manifest['counts']['language']}", file=sys.stderr)
    print(f"data_build: {n} examples in {seconds:.1f} s, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
