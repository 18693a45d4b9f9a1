"""Stand-ins for tests: a translation backend that tags texts ("[de] ...") and counts its calls; a
read-only peek at the request cache of a process being killed."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from xinstruct.data.translate import Translator
from xinstruct.data.translate.backends import Backend


class TagBackend(Backend):
    name = "tag"
    cacheable = False

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def cache_model(self, src: str, tgt: str) -> str:
        return "tag"

    def translate_batch(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.calls.append((src, tgt, len(texts)))
        return [f"[{tgt}] {text}" for text in texts]


def tag_translator() -> Translator:
    return Translator(TagBackend(), None, batch_size=64, progress=False)


def cached_requests(db: Path, task_prefix: str = "") -> int:
    """Rows committed to the request cache `db` (whose task starts with `task_prefix`); 0 before it exists."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            query = "SELECT COUNT(*) FROM requests WHERE task LIKE ?"
            return conn.execute(query, (task_prefix + "%",)).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
