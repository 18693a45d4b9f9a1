"""Source formats and files, on real data from ../shared/data and on hand-made bad files."""

import gzip
import json
import subprocess
import sys

import pytest

from tests.conftest import SHARED_DATA
from xinstruct.config import SourceConfig
from xinstruct.data.sources import load_source
from xinstruct.errors import DataError

needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason=f"shared data not found at {SHARED_DATA}")


def _load(path, fmt, language="en", **kw):
    return load_source("s", SourceConfig(path=str(path), format=fmt, language=language, **kw))


@needs_shared
def test_real_alpaca_english(capsys):
    path = SHARED_DATA / "alpaca" / "alpaca_data.json"
    with pytest.raises(DataError, match=r"alpaca_data\.json: item 284: field 'output': expected non-empty text"):
        _load(path, "alpaca")
    examples = _load(path, "alpaca", skip_invalid=True)
    n_empty = sum(not row["output"].strip() for row in json.loads(path.read_text()))
    assert n_empty > 0 and len(examples) == 52002 - n_empty
    assert f"skipped {n_empty} invalid records" in capsys.readouterr().err
    assert examples[0].messages[0]["role"] == "user" and examples[0].response
    with_input = next(ex for ex in examples if "\n\n" in ex.prompt)  # input appended to the instruction
    assert with_input.prompt.split("\n\n", 1)[1]


@needs_shared
def test_real_chinese_alpaca_and_vietnamese_prompt_response_with_auto_language():
    zh_dir = SHARED_DATA / "multilingual_alpaca" / "zh"
    files = sorted(zh_dir.glob("*.json"))
    zh = [ex for f in files for ex in _load(f, "alpaca", language="zh", skip_invalid=True)]
    n_empty = sum(not row["output"].strip() for f in files for row in json.loads(f.read_text()))
    assert len(zh) == 6229 - n_empty and {ex.lang for ex in zh} == {"zh"}
    vi_file = SHARED_DATA / "multilingual_alpaca" / "vi" / "vi_alpaca_reduced_1.jsonl"
    cfg = SourceConfig(path=str(vi_file), format="prompt_completion", language="auto", response_field="response")
    vi = load_source("vi", cfg, languages=["en", "vi", "zh"])
    assert len(vi) == 5000
    share_vi = sum(ex.lang == "vi" for ex in vi) / len(vi)
    assert share_vi > 0.95, share_vi  # a few code or number-only answers may read as English


@needs_shared
def test_upstream_malformed_line_is_reported_by_file_and_line():
    from xinstruct.data.readers import read_records

    path = SHARED_DATA / "hplt_instruction_test" / "test_hi.jsonl"
    with pytest.raises(DataError, match=r"test_hi\.jsonl:50: invalid JSON"):
        list(read_records(path))
    errors: list[str] = []
    records = list(read_records(path, on_error=errors.append))  # skipped only when the caller allows
    assert len(records) == 49 and len(errors) == 1 and ":50:" in errors[0]


def test_formats_and_file_kinds(tmp_path):
    rows = [
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        }
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert _load(tmp_path / "m.jsonl", "messages")[0].messages[0]["role"] == "system"
    share = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}]
    (tmp_path / "s.json.gz").write_bytes(gzip.compress(json.dumps(share).encode()))
    assert _load(tmp_path / "s.json.gz", "sharegpt")[0].response == "hello"
    (tmp_path / "a.csv").write_text('instruction,input,output\n"say hi, please",,hello\n')
    assert _load(tmp_path / "a.csv", "alpaca")[0].prompt == "say hi, please"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"prompt": "p", "completion": "c"}]), tmp_path / "p.parquet")
    assert _load(tmp_path / "p.parquet", "prompt_completion")[0].messages[1]["content"] == "c"


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        (
            "bad.jsonl",
            '{"prompt": "a", "completion": "b"}\n{"prompt": "a", "completion": \n',
            "prompt_completion",
            r"bad\.jsonl:2: invalid JSON",
        ),
        ("missing.jsonl", '{"instruction": "a", "input": ""}\n', "alpaca", r"missing\.jsonl:1: missing field 'output'"),
        (
            "empty.jsonl",
            '{"prompt": "a", "completion": "  "}\n',
            "prompt_completion",
            r"empty\.jsonl:1: field 'completion': expected non-empty text",
        ),
        ("cols.csv", "question,answer\nq,a\n", "alpaca", r"cols\.csv:2: missing field 'instruction' \(found fields"),
        (
            "role.jsonl",
            '{"conversations": [{"from": "alien", "value": "x"}, {"from": "gpt", "value": "y"}]}\n',
            "sharegpt",
            r"role\.jsonl:1: field conversations\[0\]\.from: expected one of",
        ),
        (
            "last.jsonl",
            '{"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]}\n',
            "messages",
            r"last\.jsonl:1: field 'messages': the last turn must be the assistant's",
        ),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path, name, content, fmt, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        _load(tmp_path / name, fmt)


def test_non_utf8_and_unknown_language(tmp_path):
    (tmp_path / "latin1.jsonl").write_bytes('{"prompt": "caf\u00e9", "completion": "x"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.jsonl:1: not UTF-8"):
        _load(tmp_path / "latin1.jsonl", "prompt_completion")
    with pytest.raises(ValueError, match="not a valid BCP-47"):
        SourceConfig(path="x", format="alpaca", language="xx-not-a-tag")


def test_data_check_cli(tmp_path):
    (tmp_path / "ok.jsonl").write_text('{"prompt": "what is two plus two?", "completion": "two plus two is four."}\n')
    run = [sys.executable, "-m", "xinstruct.cli", "data", "check"]
    ok = subprocess.run(
        [*run, str(tmp_path / "ok.jsonl"), "--format", "prompt_completion", "--language", "en"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "1 examples" in ok.stdout and "en 1" in ok.stdout
    (tmp_path / "bad.jsonl").write_text('{"prompt": "x"}\n')
    bad = subprocess.run(
        [*run, str(tmp_path / "bad.jsonl"), "--format", "prompt_completion"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "bad.jsonl:1: missing field 'completion'" in bad.stderr
    fmt = subprocess.run([*run, str(tmp_path / "ok.jsonl"), "--format", "yaml"], capture_output=True, text=True)
    assert fmt.returncode == 2 and "--format" in fmt.stderr
