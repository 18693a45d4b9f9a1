"""Quiet by default: other libraries' progress bars, warnings and log lines go to the stage's log file.

A stage prints one rich progress display and a one-line summary; what transformers, datasets, TRL, PEFT,
accelerate and Python's warnings would print (tqdm bars such as "Tokenizing train dataset", FutureWarnings,
the Trainer's log dicts) is written to `DIR/<arm>/<stage>/log.txt` instead. `--verbose` (or
XINSTRUCT_VERBOSE=1) keeps it on the console too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

LIBRARIES = ("transformers", "datasets", "trl", "peft", "accelerate", "huggingface_hub", "py.warnings")


def verbose() -> bool:
    return os.environ.get("XINSTRUCT_VERBOSE", "") not in ("", "0")


def _progress_bars(enabled: bool) -> None:
    """Switch the Hugging Face libraries' own progress bars on or off (the ones that are imported)."""
    import importlib

    for module, on, off in (
        ("transformers.utils.logging", "enable_progress_bar", "disable_progress_bar"),
        ("datasets", "enable_progress_bars", "disable_progress_bars"),
        ("huggingface_hub.utils", "enable_progress_bars", "disable_progress_bars"),
    ):
        try:
            getattr(importlib.import_module(module), on if enabled else off)()
        except (ImportError, AttributeError):
            pass


@contextlib.contextmanager
def stage_log(path: Path) -> Iterator[Path]:
    """Route other libraries' output into `path` for the duration (and to the console too when verbose)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loud = verbose()
    saved = {}
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, list(logger.handlers))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        if not loud:
            logger.propagate = False
            for h in list(logger.handlers):
                if h is not handler and isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                    logger.removeHandler(h)  # transformers' and datasets' own stderr handlers
    logging.captureWarnings(True)
    if not loud:
        _progress_bars(False)
    log_file = open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed below)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # every warning once, into the log
            if loud:
                yield path
            else:
                with contextlib.redirect_stdout(log_file):  # stray prints (the Trainer's log dicts)
                    yield path
    finally:
        log_file.close()
        logging.captureWarnings(False)
        if not loud:
            _progress_bars(True)
        for name, (level, propagate, handlers) in saved.items():
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
            for h in handlers:
                if h not in logger.handlers:
                    logger.addHandler(h)
        handler.close()
