"""The evaluation request cache: one SQLite file, (model, task, example, request) -> what the model answered.

- model: a fingerprint of the weights (sha256 over the model directory's weight, config and tokenizer
  files, plus the base model's for a LoRA adapter; a hub id's resolved commit), with the dtype and, off
  the CPU, the device kind (`Placement.cache_tag`: `torch.float32` on the CPU, `torch.bfloat16:cuda`);
- task: name@version; example: language/id;
- request: sha256 of the canonical JSON of what was asked (generation: the messages, max_new_tokens
  and decoding settings; multiple choice: context and continuation), with the engine's version;
- value: JSON (the generated text, or [loglikelihood, is_greedy]).

WAL mode, one transaction per batch: an evaluation killed mid-way keeps every finished batch and a
rerun sends only the missing requests to the model. Under torchrun / accelerate launch the ranks of one
machine commit their own batches to the same file (WAL serialises writers, each waiting its turn up to the
busy timeout) while rank 0 alone reads it (`xinstruct.evaluate.parallel`).
Stored: hashes, example ids, model file paths and model outputs; no prompts.
File hashes are kept by (path, size, mtime, inode), so a resumed evaluation does not rehash the weights
(a retrained model is renamed into place: a new inode even where mtimes are coarse).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xinstruct.artifacts import canonical_json, sha256_file
from xinstruct.errors import ConfigError
from xinstruct.sqlite_store import SqliteStore

FILENAME = "eval_requests.sqlite"

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS requests (
    model TEXT NOT NULL,
    task TEXT NOT NULL,
    example TEXT NOT NULL,
    request TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model, task, example, request)
) WITHOUT ROWID
""",
    """
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL
)
""",
)

# What decides a model's outputs: weights, config, tokenizer and chat template (not READMEs, manifests, logs).
MODEL_FILES = (
    "*.safetensors",
    "*.safetensors.index.json",
    "pytorch_model*.bin",
    "pytorch_model.bin.index.json",
    "adapter_model.bin",
    "config.json",
    "generation_config.json",
    "adapter_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.model",
    "*.tiktoken",
)

Key = tuple[str, str]  # (example, request sha256)


def request_key(request: dict) -> str:
    """sha256 of the canonical JSON of a request."""
    return hashlib.sha256(canonical_json(request).encode("utf-8")).hexdigest()


def cache_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / FILENAME


def hub_commit(repo_id: str) -> str | None:
    """The commit a hub id resolves to in the local HF cache (what from_pretrained loaded), if any."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an id the hub library rejects: fall back to the id itself
        return None
    return Path(found).parent.name if isinstance(found, str) else None


class RequestCache(SqliteStore):
    """Opened on first use; `scope(model, task)` gives what `generate` / `loglikelihoods` look up and fill."""

    schema = _SCHEMA
    what = "evaluation cache"

    def __init__(self, path: Path):
        super().__init__(path)
        self._file_hashes: dict[tuple[str, int, int, int], str] = {}

    # -- model fingerprints ---------------------------------------------------------------------------

    def file_sha256(self, path: Path) -> str:
        """sha256 of a file's contents, remembered by (path, size, mtime, inode) in memory and in the database."""
        path = Path(path).resolve()
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
        if key in self._file_hashes:
            return self._file_hashes[key]
        db = self._db()
        try:
            row = db.execute("SELECT size, mtime_ns, inode, sha256 FROM file_hashes WHERE path=?", (key[0],)).fetchone()
            if row is not None and tuple(row[:3]) == key[1:]:
                digest = row[3]
            else:
                digest = sha256_file(path)
                with db:
                    db.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?, ?)", (*key, digest))
        except sqlite3.Error as e:
            raise ConfigError(f"{self.path}: cannot use the evaluation cache ({e})") from None
        self._file_hashes[key] = digest
        return digest

    def fingerprint(self, model: str | Path, commit: str | None = None) -> str:
        """What identifies a model's weights: a directory's model files (and its adapter's base), or a hub commit."""
        path = Path(model)
        if not path.is_dir():
            return f"hub:{model}@{commit or hub_commit(str(model)) or 'unresolved'}"
        h = hashlib.sha256(b"xinstruct-model-fingerprint-1\n")
        for file in sorted(path.iterdir()):
            if file.is_file() and any(fnmatch.fnmatch(file.name, pattern) for pattern in MODEL_FILES):
                h.update(f"{file.name}\0{self.file_sha256(file)}\n".encode())
        adapter = path / "adapter_config.json"
        if adapter.exists():
            base = json.loads(adapter.read_text())["base_model_name_or_path"]
            h.update(f"base\0{self.fingerprint(base, commit)}\n".encode())
        return f"sha256:{h.hexdigest()}"

    # -- requests -------------------------------------------------------------------------------------

    def scope(self, model: str, task: str) -> TaskCache:
        return TaskCache(self, model, task)

    def get_many(self, model: str, task: str, keys: Sequence[Key]) -> dict[Key, Any]:
        """{(example, request): value} for those of `keys` cached under (model, task)."""
        wanted = set(keys)
        examples = list(dict.fromkeys(example for example, _ in keys))  # a primary-key prefix: index seeks
        rows = self.select_in(
            "SELECT example, request, value FROM requests WHERE model=? AND task=? AND example IN",
            (model, task),
            examples,
        )
        return {(e, r): json.loads(v) for e, r, v in rows if (e, r) in wanted}

    def put_many(self, model: str, task: str, items: Iterable[tuple[Key, Any]]) -> None:
        """Store ((example, request), value) pairs in one transaction, committed before returning."""
        self.write_many(
            "INSERT OR REPLACE INTO requests (model, task, example, request, value) VALUES (?, ?, ?, ?, ?)",
            [(model, task, example, request, json.dumps(value)) for (example, request), value in items],
        )

    def count(self) -> int:
        """How many requests are cached (all models and tasks)."""
        return self._db().execute("SELECT COUNT(*) FROM requests").fetchone()[0]


@dataclass(frozen=True)
class TaskCache:
    """The cache as one task of one model sees it."""

    cache: RequestCache
    model: str
    task: str

    def get_many(self, keys: Sequence[Key]) -> dict[Key, Any]:
        return self.cache.get_many(self.model, self.task, keys)

    def put_many(self, items: Iterable[tuple[Key, Any]]) -> None:
        self.cache.put_many(self.model, self.task, items)


class Lazy:
    """A model loaded on first use: an evaluation answered entirely from the cache loads no model."""

    def __init__(self, load: Callable[[], Any], is_vllm: bool = False):
        self._load = load
        self._value: Any = None
        self.is_vllm = is_vllm  # which engine answers: part of each request's cache key

    def get(self) -> Any:
        if self._value is None:
            self._value = self._load()
        return self._value


def materialize(model: Any) -> Any:
    """The model itself, loading it now if it is `Lazy`."""
    return model.get() if isinstance(model, Lazy) else model
