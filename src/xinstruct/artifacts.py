"""Stage outputs on disk: content keys, atomic directories and manifests.

A stage writes into a temporary sibling directory and renames it into place only when
complete, with `manifest.json` written last; so a killed stage leaves nothing that looks
finished, and a rerun whose key matches the manifest's skips the stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xinstruct import __version__

MANIFEST = "manifest.json"


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_key(obj: object) -> str:
    """sha256 of the canonical JSON of a stage's inputs (config slice + upstream keys)."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads((Path(path) / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_complete(path: Path, key: str) -> bool:
    manifest = read_manifest(path)
    return manifest is not None and manifest.get("key") == key


def write_manifest(path: Path, manifest: dict) -> None:
    """Write the manifest (last), with the sha256 of every other file in the directory."""
    files = {
        str(p.relative_to(path)): sha256_file(p)
        for p in sorted(Path(path).rglob("*"))
        if p.is_file() and p.name not in (MANIFEST, "log.txt")  # the stage's log: not a result, not reproducible
    }
    full = {"xinstruct_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **manifest, "files": files}
    tmp = Path(path) / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(full, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n")
    os.replace(tmp, Path(path) / MANIFEST)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a fresh temp directory that replaces `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.parent / f".{final.name}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all (temp file, then rename): a crash never leaves half a report."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
