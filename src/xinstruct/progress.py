"""One look for progress bars and warnings across stages (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress_bar(transient: bool = False) -> Progress:
    """A bar with ETA on stderr; `transient` ones disappear when done (the training bar: the stage's summary
    line follows it), unless --verbose."""
    from xinstruct.quiet import verbose

    console = Console(stderr=True)
    transient = transient and not verbose()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=transient,
        console=console,
        disable=transient and not console.is_terminal,  # a log file gets no bar that would leave an empty line
    )


def warn(message: str) -> None:
    """Warnings go to stderr unwrapped, so a long path stays one greppable line."""
    Console(stderr=True, soft_wrap=True).print(f"[yellow]warning:[/yellow] {message}", highlight=False)
