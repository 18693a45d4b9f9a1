"""Report figures as PNG bytes (inlined into report.html, and written beside it).

- transfer heatmap: arms (tuning condition) x evaluation languages, each cell "value [low-high]";
- per-language bars: one bar per arm and language, 95% CI error bars.
"""

from __future__ import annotations

import io
import math

from xinstruct.report.analysis import Analysis


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})  # no version stamp: same bytes every build
    _pyplot().close(fig)
    return buffer.getvalue()


def heatmap_png(analysis: Analysis, task: str, metric: str, title: str) -> bytes:
    plt = _pyplot()
    arms, langs = analysis.arms, analysis.languages(task, metric)
    cells = [[analysis.cell(arm, task, lang, metric) for lang in langs] for arm in arms]
    values = [[math.nan if c is None else 100 * c.value for c in row] for row in cells]
    fig, ax = plt.subplots(figsize=(1.6 + 1.05 * len(langs), 1.2 + 0.7 * len(arms)), dpi=110)
    image = ax.imshow(values, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(arms)), arms)
    ax.set_xlabel("evaluation language")
    ax.set_ylabel("arm")
    for i, row in enumerate(cells):
        for j, c in enumerate(row):
            if c is None:
                text, v = "-", math.nan
            else:
                v = 100 * c.value
                text = f"{v:.0f}" if math.isnan(c.low) else f"{v:.0f}\n[{100 * c.low:.0f}-{100 * c.high:.0f}]"
            color = "white" if math.isnan(v) or v < 60 else "black"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, label="% (95% CI)")
    fig.tight_layout()
    return _png(fig)


def bars_png(analysis: Analysis, task: str, metric: str, title: str) -> bytes:
    plt = _pyplot()
    arms = analysis.arms
    langs = [lang for lang in analysis.languages(task, metric) if lang != "all"]
    width = 0.8 / max(1, len(arms))
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(langs) * max(1, len(arms)) / 2, 3.4), dpi=110)
    for k, arm in enumerate(arms):
        xs, heights, errors = [], [], [[], []]
        for j, lang in enumerate(langs):
            c = analysis.cell(arm, task, lang, metric)
            if c is None:
                continue
            xs.append(j + (k - (len(arms) - 1) / 2) * width)
            heights.append(100 * c.value)
            # a percentile interval need not contain the (rounded) value exactly: clamp, never negative
            errors[0].append(0 if math.isnan(c.low) else max(0.0, 100 * (c.value - c.low)))
            errors[1].append(0 if math.isnan(c.high) else max(0.0, 100 * (c.high - c.value)))
        ax.bar(xs, heights, width, yerr=errors, capsize=2, label=arm)
    ax.set_xticks(range(len(langs)), langs)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


def outcomes_png(analysis: Analysis, task: str, title: str) -> bytes | None:
    """Judge win rates: per arm and language, the shares of wins, ties and losses (stacked); None if none."""
    plt = _pyplot()
    rows = []
    for arm in analysis.arms:
        for lang in analysis.languages(task, "win"):
            cells = [analysis.cell(arm, task, lang, m) for m in ("win", "tie", "loss")]
            if all(c is not None for c in cells):
                rows.append((f"{arm} {lang}", [100 * c.value for c in cells]))
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.35 * len(rows)), dpi=110)
    left = [0.0] * len(rows)
    for k, (outcome, color) in enumerate((("win", "#2a9d55"), ("tie", "#bbbbbb"), ("loss", "#d1495b"))):
        widths = [values[k] for _, values in rows]
        ax.barh(range(len(rows)), widths, left=left, color=color, label=outcome)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of prompts (both orders judged)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, ncol=3, loc="lower right")
    fig.tight_layout()
    return _png(fig)
