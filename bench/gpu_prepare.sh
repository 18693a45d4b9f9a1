#!/usr/bin/env bash
# Prepare bench/gpu.sh for a lent GPU machine (run HERE, in the repository root, before the device call).
#
# The GPU machine (device tool, nvidia-h200) has torch, transformers, accelerate and peft, but not trl,
# datasets, lm_eval or xinstruct's smaller dependencies, and no ../shared. This fetches their wheels into
# .whl/ and copies the data the benches read into .bench-data/ (both ignored by git through
# .git/info/exclude); the device call carries both: carry: [".whl", ".bench-data"].
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
grep -qx '/.bench-data/' .git/info/exclude 2>/dev/null || echo '/.bench-data/' >> .git/info/exclude
PY=${PYTHON:-.venv/bin/python}
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
# what the benches import beyond the machine's torch/transformers/accelerate/peft (pure-Python where possible)
wheels=(trl datasets lm_eval evaluate sqlitedict pytablewriter word2number more_itertools dill xxhash multiprocess
        pyarrow langcodes language_data marisa-trie orjson typer rich pydantic sacrebleu portalocker tabulate
        colorama lxml rouge_score nltk absl-py scikit-learn threadpoolctl joblib jsonlines zstandard
        mbstrdecoder typepy dataproperty tcolorpy chardet pathvalidate)
rm -rf .whl && mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
    -d .whl "${wheels[@]}"
"$PY" -m pip download -q --no-deps --only-binary=:all: -d .whl --platform any "lingua-language-detector" 2>/dev/null \
    || "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
       "${platforms[@]}" -d .whl lingua-language-detector
# xinstruct itself, as a wheel (no dependencies: the machine's torch stays)
"$PY" -m pip wheel -q --no-deps -w .whl .
SHARED=${SHARED:-../shared/data}
rm -rf .bench-data && mkdir -p .bench-data
cp -r "$SHARED/xcopa" .bench-data/
mkdir -p .bench-data/xquad .bench-data/alpaca
cp "$SHARED/xquad/xquad.en.json" .bench-data/xquad/
cp "$SHARED/alpaca/alpaca_data.json" .bench-data/alpaca/
du -sh .whl .bench-data
echo "ready: device run with carry [\".whl\", \".bench-data\"] and command: bash bench/gpu.sh"
