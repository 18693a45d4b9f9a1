"""report.html: one self-contained file (plots inlined as PNG data, sortable tables, no network).

Sections: significance for every pair of arms (non-English macro, then per language), per
task the transfer heatmap with CIs and per-language bars with error bars (judge win rates as
stacked win/tie/loss bars), seen vs unseen languages, and every metric as a sortable table. A small
script sorts a table by the clicked column and, once the page has loaded, records on <body> how
many plots rendered (what the headless-browser test reads).
"""

from __future__ import annotations

import base64
import html

from xinstruct.report.analysis import Analysis, significance_line
from xinstruct.report.plots import bars_png, heatmap_png, outcomes_png
from xinstruct.report.tables import cell_text

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4;cursor:pointer}
td:first-child,th:first-child{text-align:left}img.plot{max-width:100%;display:block;margin:.6em 0}
.sig{color:#0a6}.note{color:#666}
"""

SCRIPT = """
function sortTable(th){const table=th.closest('table'),i=[...th.parentNode.children].indexOf(th);
const body=table.tBodies[0],rows=[...body.rows],asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
const key=r=>{const t=r.cells[i].textContent.trim(),x=parseFloat(t);return isNaN(x)?t:x};
rows.sort((a,b)=>{const x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*(asc?1:-1)});
rows.forEach(r=>body.appendChild(r));}
document.querySelectorAll('table.sortable th').forEach(th=>th.addEventListener('click',()=>sortTable(th)));
window.addEventListener('load',()=>{const ok=[...document.images].filter(i=>i.complete&&i.naturalWidth>0);
document.body.dataset.plots=String(ok.length);document.body.dataset.ready='yes';});
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _img(png: bytes, alt: str) -> str:
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def html_report(analysis: Analysis, title: str, preface: str = "") -> str:
    return html_page(title, html_sections(analysis, title, preface=preface))


def grid_html_report(sections: list[tuple[str, Analysis]], title: str, preface: str = "") -> str:
    """One page for a model x seed grid: a section (transfer matrix, comparisons) per model."""
    body = [f"<h1>{html.escape(title)}</h1>", preface]
    body.append('<p class="note">One section per model; each model\'s values are means over its seeds.</p>')
    body += [html_sections(analysis, f"model {model}", level=2) for model, analysis in sections]
    return html_page(title, "\n".join(body))


def html_page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n<script>{SCRIPT}</script>\n</body></html>\n"
    )


def html_sections(analysis: Analysis, title: str, level: int = 1, preface: str = "") -> str:
    """The report's sections for one analysis, headings starting at <h`level`>; `preface` (the claims) first."""
    parts = [f"<h1>{html.escape(title)}</h1>", preface]
    runs = len(analysis.runs)
    parts.append(
        '<p class="note">Percentages; [low, high] is a 95% bootstrap confidence interval over examples'
        + (f", values are means over {runs} runs" if runs > 1 else "")
        + ". Regenerate with <code>xinstruct report DIR</code>; results.csv is the raw truth.</p>"
    )
    comparisons = {task: analysis.comparisons(task, analysis.headline[task]) for task in analysis.tasks}
    pooled = [c for cs in comparisons.values() for c in cs if c.scope == "non-en"]
    if pooled:
        parts.append("<h2>Significance</h2><ul>")
        for c in pooled:
            mark = ' class="sig"' if c.result.p_value < 0.05 else ""
            parts.append(f"<li{mark}>{html.escape(significance_line(c))}</li>")
        parts.append("</ul>")
    for task in analysis.tasks:
        metric = analysis.headline[task]
        parts.append(f"<h2>{html.escape(task)}: {html.escape(metric)}</h2>")
        parts.append("<h3>Transfer matrix</h3>")
        parts.append(_img(heatmap_png(analysis, task, metric, f"{task} {metric} (%)"), f"{task} transfer heatmap"))
        if any(lang != "all" for lang in analysis.languages(task, metric)):
            parts.append(_img(bars_png(analysis, task, metric, f"{task} {metric} by language"), f"{task} bars"))
        outcomes = outcomes_png(analysis, task, f"{task}: wins, ties and losses against the partner arm")
        if outcomes is not None:
            parts.append("<h3>Judge win rates</h3>" + _img(outcomes, f"{task} win rates"))
        groups = analysis.groups(task, metric)
        if groups:
            parts.append("<h3>Seen vs unseen languages</h3>")
            parts.append(
                _table(
                    ["arm", "group", "languages", metric],
                    [[g.arm, g.group, " ".join(g.languages), cell_text(g.value, g.low, g.high)] for g in groups],
                )
            )
        if comparisons[task]:
            parts.append("<h3>Paired comparisons on the same examples</h3>")
            rows = [
                [c.arm, c.baseline, c.scope, f"{100 * c.result.difference:+.1f}",
                 f"[{100 * c.result.low:+.1f}, {100 * c.result.high:+.1f}]", f"{c.result.p_value:.4f}",
                 str(c.result.pairs)]
                for c in comparisons[task]
            ]  # fmt: skip
            parts.append(_table(["arm", "baseline", "languages", "difference", "95% CI", "p", "pairs"], rows))
        parts.append("<h3>All metrics</h3>")
        rows = [
            [c.arm, c.language, c.metric, cell_text(c.value, c.low, c.high), str(c.n)]
            for c in analysis.cells
            if c.task == task
        ]
        parts.append(_table(["arm", "language", "metric", "value", "n"], rows))
    from xinstruct.report.language_check import HEADERS, language_rows

    checked = language_rows(analysis)
    if checked:
        parts.append("<h2>Judged language vs measured LPR</h2>")
        parts.append(_table(["arm", "language", *HEADERS], checked))
    body = "\n".join(parts)
    if level > 1:  # shift every heading down
        for n in (3, 2, 1):
            body = body.replace(f"<h{n}>", f"<h{n + level - 1}>").replace(f"</h{n}>", f"</h{n + level - 1}>")
    return body
