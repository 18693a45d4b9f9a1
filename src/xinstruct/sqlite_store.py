"""A SQLite file opened on first use, for the caches that make long stages resumable.

WAL journal with synchronous=NORMAL: every committed batch survives a killed process. Several processes
of one machine may write the same file (data-parallel evaluation: each rank commits its batches): WAL lets
readers go on while one writer commits, and a writer finding the file locked waits up to `BUSY_TIMEOUT`
seconds for its turn (SQLite's busy handler) instead of failing. WAL needs the processes on one host (not a
network filesystem shared between machines). Errors opening the file are `ConfigError`s naming the file and
the option that moves it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from xinstruct.errors import ConfigError

CHUNK = 500  # values per IN (...) list: SQLite's bound-parameter limit is 999 on old builds
BUSY_TIMEOUT = 60  # seconds a writer waits for another process's transaction (each commits one batch: ms)


class SqliteStore:
    """Subclasses set `schema` (statements run on open), `what` (for messages) and `option` (to move it)."""

    schema: tuple[str, ...] = ()
    what = "cache"
    option = "--cache-dir"

    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)  # the busy handler: wait, do not fail
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: a killed process loses no commit
                for statement in self.schema:
                    conn.execute(statement)
                conn.commit()
            except (OSError, sqlite3.Error) as e:
                raise ConfigError(
                    f"{self.path}: cannot open the {self.what} ({e}); set another with {self.option}"
                ) from None
            self._conn = conn
        return self._conn

    def select_in(self, query: str, params: Sequence, values: Sequence) -> Iterator[tuple]:
        """Rows of `query` ending in `... IN`, with the list filled from `values` in chunks (SQLite's
        parameter limit); `params` fill the placeholders before it."""
        db = self._db()
        try:
            for i in range(0, len(values), CHUNK):
                chunk = values[i : i + CHUNK]
                yield from db.execute(f"{query} ({','.join('?' * len(chunk))})", (*params, *chunk))
        except sqlite3.Error as e:
            raise ConfigError(f"{self.path}: cannot read the {self.what} ({e})") from None

    def write_many(self, statement: str, rows: Iterable[tuple]) -> None:
        """Run `statement` for every row in one transaction, committed before returning."""
        db = self._db()
        try:
            with db:
                db.executemany(statement, rows)
        except sqlite3.Error as e:
            raise ConfigError(f"{self.path}: cannot write the {self.what} ({e})") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
