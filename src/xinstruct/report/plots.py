"""The transfer heatmap: arms (tuning condition) x evaluation languages."""

from __future__ import annotations

import math
from pathlib import Path


def plot_transfer(table: tuple[list[str], list[str], list[list[float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms, langs, values = table
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(langs), 1.0 + 0.55 * len(arms)), dpi=120)
    image = ax.imshow([[100 * v for v in row] for row in values], vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(arms)), arms)
    ax.set_xlabel("evaluation language")
    ax.set_ylabel("arm")
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            text = "-" if math.isnan(v) else f"{100 * v:.0f}"
            ax.text(j, i, text, ha="center", va="center", color="white" if v < 0.6 else "black", fontsize=9)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="%")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
