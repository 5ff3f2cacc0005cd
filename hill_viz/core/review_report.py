"""A workspace's review as one self-contained HTML file, for people without the app.

`write_review_report(workspace, path)`: the workspace (owner, title, dataset, head,
verify status), a table of every edit (status, predicted and measured bias, comments),
per edit its snapshot when it was drawn beside the view now (same colours and scales,
the edit's points ringed) as embedded PNG images, and the whole timeline. No scripts and
no external resources: it opens anywhere, offline.
"""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

from hill_viz.core.edit_review import (EditReview, edit_reviews, head_snapshot, shared_bounds, snapshot_of,
                                       snapshot_png)
from hill_viz.core.provenance import Workspace
from hill_viz.core.review import SEVERITIES, timeline_table

__all__ = ["review_html", "write_review_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top} th{background:#f3f3f3}
.ok{color:#009E73;font-weight:600} .warn{color:#B86E00;font-weight:600} .alert{color:#D55E00;font-weight:600}
.failed{color:#D55E00;font-weight:600} .muted{color:#777} figure{display:inline-block;margin:0 12px 0 0}
figcaption{font-size:12px;color:#555} .edit{margin-bottom:18px}
"""


def write_review_report(workspace: Workspace | str | Path, path: str | Path) -> Path:
    """Write the review of `workspace` (a Workspace or its folder) to `path`; returns the path."""
    ws, opened = _workspace(workspace)
    try:
        text = review_html(ws)
    finally:
        if opened:
            ws.close()
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def _workspace(workspace) -> tuple[Workspace, bool]:
    if isinstance(workspace, Workspace):
        return workspace, False
    return Workspace(workspace, create=False, read_only=True), True  # no writer lock: works while someone edits


def review_html(ws: Workspace) -> str:
    """The report as one HTML string."""
    reviews = edit_reviews(ws)
    table = timeline_table(ws.store)
    report = ws.verify()
    verify = ("<span class='ok'>verified: the log and every file match their hashes</span>" if report.ok else
              f"<span class='failed'>verify failed: {_e(report.first_bad)}</span>")
    title = ws.title or ws.path.name
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Review: {_e(title)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Review: {_e(title)}</h1>",
             f"<p>Workspace <b>{_e(ws.path.name)}</b> · owner {_e(ws.owner or '?')} · {ws.store.count()} events · "
             f"head event {ws.store.head} · {verify}<br><span class='muted'>written "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by hill-viz</span></p>",
             _edit_table(reviews), _edit_figures(ws, reviews), _timeline(table), "</body></html>"]
    return "\n".join(parts)


def _edit_table(reviews: list[EditReview]) -> str:
    rows = ["<h2>Edits</h2>", "<table class='edits'><tr><th>edit</th><th>what</th><th>points</th><th>by</th>"
            "<th>status</th><th>predicted bias</th><th>measured bias</th><th>comments</th></tr>"]
    for r in reviews:
        status = r.status + (f" (event {r.applied_event})" if r.applied_event else "")
        if not r.on_head:
            status += ", on an earlier branch"
        comments = "<br>".join(f"{_e(c.actor)}: {_e(c.params.get('text', ''))}" for c in r.comments)
        rows.append(f"<tr class='edit-row' data-edit='{r.edit_id}'><td>#{r.edit_id}</td><td>{_e(r.description)}</td>"
                    f"<td>{len(r.ids)}</td><td>{_e(r.actor)}<br><span class='muted'>{_e(r.ts[:19])}</span></td>"
                    f"<td>{_e(status)}</td><td>{_bias(r, 'predicted')}</td><td>{_bias(r, 'measured')}</td>"
                    f"<td>{comments or '-'}</td></tr>")
    if not reviews:
        rows.append("<tr><td colspan='8' class='muted'>No edits were made in this workspace.</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _bias(r: EditReview, phase: str) -> str:
    indicators = r.indicators(phase)
    if not indicators:
        return "<span class='muted'>none</span>"
    worst = r.severity(phase)
    head = f"<span class='{SEVERITIES[worst]}'>{SEVERITIES[worst]}</span>" if worst >= 0 else ""
    lines = [f"{_e(name)}: {d['value']:.3g} ({d['delta']:+.3g})" for name, d in indicators.items()]
    return head + "<br>" + "<br>".join(lines)


def _edit_figures(ws: Workspace, reviews: list[EditReview]) -> str:
    now_event, now = head_snapshot(ws)
    out = ["<h2>Each edit: the view it was drawn on, and now</h2>",
           "<p class='muted'>Points coloured by label, the edit's points ringed in black; both images of an edit "
           "share one scale.</p>"]
    n_classes = None if now is None else int(now["label"].max()) + 1
    for r in reviews:
        then = snapshot_of(ws, r.snapshot_event)
        out.append(f"<div class='edit'><h3>Edit #{r.edit_id}: {_e(r.description)}</h3>")
        if then is None or now is None:
            out.append("<p class='muted'>No latent snapshot was recorded before this edit.</p></div>")
            continue
        bounds = shared_bounds(then, now)
        for label, frame, event in (("then", then, r.snapshot_event), ("now", now, now_event)):
            png = base64.b64encode(snapshot_png(frame, bounds, r.ids, n_classes)).decode()
            out.append(f"<figure><img alt='edit {r.edit_id} {label}' src='data:image/png;base64,{png}' "
                       f"width='360' height='360'><figcaption>{label}: the view at event {event}</figcaption></figure>")
        out.append("</div>")
    return "\n".join(out)


def _timeline(table) -> str:
    rows = ["<h2>Timeline</h2>", "<table class='timeline'><tr><th>event</th><th>seq</th><th>time (UTC)</th>"
            "<th>actor</th><th>kind</th><th>summary</th><th>branch</th></tr>"]
    for r in table.itertuples():
        rows.append(f"<tr><td>{r.id}</td><td>{r.seq}</td><td>{_e(r.ts[:19].replace('T', ' '))}</td><td>{_e(r.actor)}</td>"
                    f"<td>{_e(r.kind)}</td><td>{_e(r.summary)}</td><td>{'current' if r.on_head else 'earlier'}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _e(value) -> str:
    return html.escape(str(value), quote=True)
