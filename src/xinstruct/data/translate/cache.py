"""The translation cache: one SQLite file, (backend, model, src, tgt, sha256 of the segment) -> translation.

WAL mode, one transaction per batch: a run killed mid-way keeps every finished batch and a rerun
translates only what is missing. Only hashes and translations are stored: no source text, no
endpoint, no API key.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable

from xinstruct.errors import ConfigError
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
_CHUNK = 500  # SQLite's bound-parameter limit is 999 on old builds


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TranslationCache(SqliteStore):
    """Opened on first use; `get_many` before translating, `put_many` (one commit) after each batch."""

    schema = (_SCHEMA,)
    what = "translation cache"
    option = "--cache"

    def get_many(self, key: tuple[str, str, str, str], shas: Iterable[str]) -> dict[str, str]:
        """{sha256: translation} for those of `shas` cached under key (backend, model, src, tgt)."""
        shas = list(dict.fromkeys(shas))
        found: dict[str, str] = {}
        db = self._db()
        try:
            for i in range(0, len(shas), _CHUNK):
                chunk = shas[i : i + _CHUNK]
                rows = db.execute(
                    "SELECT sha256, translation FROM translations WHERE backend=? AND model=? AND src=? AND tgt=? "
                    f"AND sha256 IN ({','.join('?' * len(chunk))})",
                    (*key, *chunk),
                )
                found.update(rows)
        except sqlite3.Error as e:
            raise ConfigError(f"{self.path}: cannot read the translation cache ({e})") from None
        return found

    def put_many(self, key: tuple[str, str, str, str], items: Iterable[tuple[str, str]]) -> None:
        """Store (sha256, translation) pairs in one transaction, committed before returning."""
        db = self._db()
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO translations (backend, model, src, tgt, sha256, translation) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(*key, sha, translation) for sha, translation in items],
                )
        except sqlite3.Error as e:
            raise ConfigError(f"{self.path}: cannot write the translation cache ({e})") from None

    def __len__(self) -> int:
        return self._db().execute("SELECT COUNT(*) FROM translations").fetchone()[0]
