"""One look for progress bars and warnings across stages (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_bar(transient: bool = False) -> Progress:
    """A bar with ETA on stderr; `transient` ones disappear when done (the training bar: the stage's summary
    line follows it), unless --verbose."""
    from xinstruct.quiet import verbose

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient and not verbose(),
        console=Console(stderr=True),
    )


def warn(message: str) -> None:
    """Warnings go to stderr unwrapped, so a long path stays one greppable line."""
    Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/yellow] {message}", highlight=False)
