"""The translation cache: one SQLite file, (backend, model, src, tgt, sha256 of the segment) -> translation.

WAL mode, one transaction per batch: a run killed mid-way keeps every finished batch and a rerun
translates only what is missing. Only hashes and translations are stored: no source text, no
endpoint, no API key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from xinstruct.sqlite_store import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    src TEXT NOT NULL,
    tgt TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    translation TEXT NOT NULL,
    PRIMARY KEY (backend, model, src, tgt, sha256)
) WITHOUT ROWID
"""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationCache(SqliteStore):
    """Opened on first use; `get_many` before translating, `put_many` (one commit) after each batch."""

    schema = (_SCHEMA,)
    what = "translation cache"
    option = "--cache"

    def get_many(self, key: tuple[str, str, str, str], shas: Iterable[str]) -> dict[str, str]:
        """{sha256: translation} for those of `shas` cached under key (backend, model, src, tgt)."""
        query = (
            "SELECT sha256, translation FROM translations WHERE backend=? AND model=? AND src=? AND tgt=? AND sha256 IN"
        )
        return dict(self.select_in(query, key, list(dict.fromkeys(shas))))

    def put_many(self, key: tuple[str, str, str, str], items: Iterable[tuple[str, str]]) -> None:
        """Store (sha256, translation) pairs in one transaction, committed before returning."""
        self.write_many(
            "INSERT OR REPLACE INTO translations (backend, model, src, tgt, sha256, translation) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(*key, sha, translation) for sha, translation in items],
        )

    def __len__(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM translations").fetchone()[0]
