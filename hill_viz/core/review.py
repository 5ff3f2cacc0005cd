"""Review data built from the event store: the timeline table and labelled arrays.

`timeline_table(store)` is one row per event (the order, the branch lane it is drawn in,
a one-line summary, the accuracies of training segments, the worst severity of bias
reports), read with light SQL so a 10^4-event log opens in a fraction of a second.
`review_dataset(store)` is the same history as an xarray Dataset with dimensions
`event`, `split`, `class`, `group` and `indicator`, exportable to NetCDF.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from hill_viz.core.provenance import Event, EventStore
from hill_viz.errors import WorkspaceError

SPLITS = ("train", "val", "test")
SEVERITIES = ("ok", "warn", "alert")
EDIT_EVENT_KINDS = ("edit_added", "edit_updated", "edit_removed", "edits_applied")

# params of events that may carry long id lists are cut down to the fields a summary needs;
# a damaged row (invalid JSON) reads as NULL there and is summarized as malformed
_ROWS_SQL = """
SELECT id, parent_id, seq, ts, actor, kind,
  CASE WHEN NOT json_valid(params) THEN NULL
       WHEN kind IN ('edit_added', 'edit_updated') THEN
         json_object('edit_id', json_extract(params, '$.edit_id'),
                     'description', json_extract(params, '$.description'))
       WHEN kind = 'selection' THEN
         json_object('selector', json_object('kind', json_extract(params, '$.selector.kind')))
       ELSE params END,
  CASE WHEN NOT json_valid(metrics) THEN NULL
       WHEN kind = 'training_segment' THEN
         json_object('epoch', json_extract(metrics, '$.epoch'),
                     'train_acc', json_extract(metrics, '$.train_acc'),
                     'val_acc', json_extract(metrics, '$.val_acc'),
                     'test_acc', json_extract(metrics, '$.test_acc'),
                     'worst_group_acc', json_extract(metrics, '$.worst_group_acc'))
       WHEN kind IN ('bias_report', 'selection', 'dataset_loaded', 'edits_applied') THEN metrics
       ELSE '{}' END
FROM events ORDER BY seq
"""


# -- one line per event ---------------------------------------------------------------------------

def describe_event(kind: str, params: dict, metrics: dict) -> str:
    """A short human summary of an event (history listings, timeline hover)."""
    p, m = params, metrics
    if kind == "dataset_loaded":
        d = p.get("dataset", {})
        name = d.get("name") or Path(str(d.get("path", "?"))).name
        return f"{name}, {m.get('n_samples', d.get('n'))} samples"
    if kind == "model_built":
        spec = p.get("spec", {})
        return f"{spec.get('arch', '?')} encoder, latent d={spec.get('latent_dim')}, seed {p.get('seed')}"
    if kind == "projection_fitted":
        return f"view projection fitted ({p.get('reason', '')})"
    if kind == "selection":
        return f"selected {m.get('n_selected', '?')} points ({p.get('selector', {}).get('kind', '?')})"
    if kind in ("edit_added", "edit_updated"):
        return f"edit #{p.get('edit_id')}: {p.get('description', '')}"
    if kind == "edit_removed":
        return f"edit #{p.get('edit_id')} removed"
    if kind == "edits_applied":
        ids = ", ".join(f"#{i}" for i in p.get("edit_ids", []))
        return f"applied {ids}: {m.get('n_covered', '?')} samples taught, {p.get('epochs')} epochs"
    if kind == "training_segment":
        return f"trained to epoch {m.get('epoch')}: val {_fmt(m.get('val_acc'))}, test {_fmt(m.get('test_acc'))}"
    if kind == "checkpoint":
        return f"checkpoint at epoch {p.get('epoch')}"
    if kind == "bias_report":
        worst = worst_severity(metrics)
        edits = ", ".join(f"#{i}" for i in p.get("edit_ids", []))
        return f"bias report ({p.get('phase', '?')}) {edits}: {SEVERITIES[worst] if worst >= 0 else 'no indicators'}"
    if kind == "revert":
        return f"reverted to event {p.get('to')}"
    if kind == "annotation":
        text = str(p.get("text", ""))
        return f"note on event {p.get('event_id')}: {text[:80]}{'...' if len(text) > 80 else ''}"
    if kind == "sharing":
        verb = "stopped sharing with" if p.get("action") == "revoke" else "shared for editing with"
        return f"{verb} {p.get('user')} (editors: {', '.join(p.get('editors', [])) or 'none'})"
    return kind


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


# -- bias reports (recorded by the bias module; read tolerantly) ---------------------------------

def bias_indicators(metrics: dict) -> dict[str, dict]:
    """name -> {value, baseline, delta, severity} from a bias_report event's metrics.

    Accepts a list of indicator dicts (with "name") or a name -> dict mapping, under
    "indicators" or at the top level.
    """
    raw = metrics.get("indicators", metrics)
    items = raw.items() if isinstance(raw, dict) else ((d.get("name"), d) for d in raw if isinstance(d, dict))
    out = {}
    for name, d in items:
        if not name or not isinstance(d, dict) or "value" not in d:
            continue
        out[str(name)] = {"value": _num(d.get("value")), "baseline": _num(d.get("baseline")),
                          "delta": _num(d.get("delta")), "severity": severity_code(d.get("severity"))}
    return out


def severity_code(s) -> int:
    return SEVERITIES.index(s) if s in SEVERITIES else -1


def worst_severity(metrics: dict) -> int:
    """-1 (no indicators), 0 ok, 1 warn, 2 alert."""
    return max((d["severity"] for d in bias_indicators(metrics).values()), default=-1)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


# -- branches ------------------------------------------------------------------------------------

def branch_lanes(ids: np.ndarray, parents: np.ndarray, head_path: set[int]) -> np.ndarray:
    """A lane per event (ids in seq order, parent -1 for roots): the head path is lane 0.

    An event continues its parent's branch if it is the parent's main child (the one on
    the head path, else the earliest); any other child starts a branch. Each branch is
    one horizontal line; branches that do not overlap in sequence share a lane, so a
    long log of abandoned attempts stays a few lanes high.
    """
    main_child: dict[int, int] = {}
    for i, p in zip(ids.tolist(), parents.tolist()):
        if p >= 0 and (p not in main_child or (i in head_path and main_child[p] not in head_path)):
            main_child[p] = i
    branch_of: dict[int, int] = {}
    spans: list[list[int]] = []  # per branch: first position, last position, on the head path
    for k, (i, p) in enumerate(zip(ids.tolist(), parents.tolist())):
        if p >= 0 and p in branch_of and main_child.get(p) == i:
            b = branch_of[p]
            spans[b][1] = k
        else:
            b = len(spans)
            spans.append([k, k, 0])
        branch_of[i] = b
        if i in head_path:
            spans[b][2] = 1
    lane_of_branch = np.zeros(len(spans), dtype=np.int32)
    lane_end: list[int] = [len(ids)]  # lane 0: the head path, reserved throughout
    for b, (first, last, on_head) in enumerate(spans):
        if on_head:
            continue
        free = next((lane for lane in range(1, len(lane_end)) if lane_end[lane] < first), None)
        if free is None:
            free = len(lane_end)
            lane_end.append(last)
        lane_end[free] = last
        lane_of_branch[b] = free
    return lane_of_branch[[branch_of[i] for i in ids.tolist()]] if len(ids) else np.zeros(0, dtype=np.int32)


# -- the timeline table ----------------------------------------------------------------------------

def timeline_table(store: EventStore) -> pd.DataFrame:
    """One row per event in seq order: id, parent_id (-1: root), seq, ts, actor, kind, summary,
    lane, on_head, is_edit, epoch, train/val/test/worst_group accuracy, severity (bias)."""
    rows = store.query(_ROWS_SQL)
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    parents = np.fromiter((r[1] if isinstance(r[1], int) else -1 for r in rows), dtype=np.int64, count=n)
    try:
        head = store.head
    except WorkspaceError:  # a damaged head: `verify` names it; the table still shows every event
        head = None
    head_path = _ancestors(ids, parents, head)
    acc = {k: np.full(n, np.nan) for k in ("epoch", "train_acc", "val_acc", "test_acc", "worst_group_acc")}
    severity = np.full(n, -1, dtype=np.int8)
    summaries = []
    for k, r in enumerate(rows):
        kind, params, metrics = str(r[5]), _object(r[6]), _object(r[7])
        if params is None or metrics is None:
            summaries.append(f"MALFORMED: its {'params' if params is None else 'metrics'} cannot be read "
                             "(`hill-viz verify` says more)")
            continue
        try:
            summary = describe_event(kind, params, metrics)
            if kind == "bias_report":
                severity[k] = worst_severity(metrics)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            summary = f"MALFORMED: its content does not fit its kind ({type(exc).__name__})"
        summaries.append(summary)
        if kind == "training_segment":
            for key in acc:
                acc[key][k] = _num(metrics.get(key))
    kinds = [r[5] for r in rows]
    seqs = np.fromiter((r[2] if isinstance(r[2], int) else -1 for r in rows), dtype=np.int64, count=n)
    table = pd.DataFrame({
        "id": ids, "parent_id": parents, "seq": seqs,
        "ts": pd.Series([r[3] for r in rows], dtype=str), "actor": pd.Series([r[4] for r in rows], dtype=str),
        "kind": pd.Series(kinds, dtype=str), "summary": pd.Series(summaries, dtype=str),
        "lane": branch_lanes(ids, parents, head_path),
        "on_head": np.fromiter((i in head_path for i in ids.tolist()), dtype=bool, count=n),
        "is_edit": np.isin(np.asarray(kinds, dtype=object), EDIT_EVENT_KINDS),
        **acc, "severity": severity,
    })
    return table


def _object(text) -> dict | None:
    """A JSON object column as a dict; None when it is damaged."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _ancestors(ids: np.ndarray, parents: np.ndarray, head: int | None) -> set[int]:
    parent_of = dict(zip(ids.tolist(), parents.tolist()))
    out, cur = set(), head
    while cur is not None and cur >= 0 and cur in parent_of and cur not in out:
        out.add(cur)
        cur = parent_of[cur]
    return out


def head_path_curve(table: pd.DataFrame, column: str = "val_acc") -> pd.DataFrame:
    """seq and `column` of the head path's training segments (what the current model went through)."""
    rows = table[table["on_head"] & table[column].notna()]
    return rows[["seq", "id", column]].reset_index(drop=True)


# -- labelled arrays -------------------------------------------------------------------------------

def review_dataset(store: EventStore):
    """The session's history as an xarray Dataset (dims event, split, class, group, indicator)."""
    import xarray as xr

    table = timeline_table(store)
    index = {int(i): k for k, i in enumerate(table["id"])}
    segments = store.events(("training_segment",), skip_malformed=True)
    reports = store.events(("bias_report",), skip_malformed=True)
    classes = _ordered_union(e.metrics.get("per_class_acc", {}) for e in segments)
    groups = _ordered_union({f"{a}={v}": x for a, vals in e.metrics.get("group_acc", {}).items()
                             for v, x in vals.items()} for e in segments)
    indicators = _ordered_union(bias_indicators(e.metrics) for e in reports)
    n = len(table)
    accuracy = np.full((n, len(SPLITS)), np.nan)
    worst_group = np.full(n, np.nan)
    class_acc = np.full((n, len(classes)), np.nan)
    group_acc = np.full((n, len(groups)), np.nan)
    for e in segments:
        k = index[e.id]
        accuracy[k] = [_num(e.metrics.get(f"{s}_acc")) for s in SPLITS]
        worst_group[k] = _num(e.metrics.get("worst_group_acc"))
        for c, name in enumerate(classes):
            class_acc[k, c] = _num(e.metrics.get("per_class_acc", {}).get(name))
        for g, name in enumerate(groups):
            attr, value = name.split("=", 1)
            group_acc[k, g] = _num(e.metrics.get("group_acc", {}).get(attr, {}).get(value))
    shape = (n, len(indicators))
    bias = {key: np.full(shape, np.nan) for key in ("value", "baseline", "delta")}
    severity = np.full(shape, -1, dtype=np.int8)
    phase = np.full(n, "", dtype=object)
    for e in reports:
        k = index[e.id]
        phase[k] = str(e.params.get("phase", ""))
        for j, name in enumerate(indicators):
            d = bias_indicators(e.metrics).get(name)
            if d:
                for key in bias:
                    bias[key][k, j] = d[key]
                severity[k, j] = d["severity"]
    ev = ("event",)
    return xr.Dataset(
        {"accuracy": (("event", "split"), accuracy), "worst_group_acc": (ev, worst_group),
         "class_acc": (("event", "class"), class_acc), "group_acc": (("event", "group"), group_acc),
         "bias_value": (("event", "indicator"), bias["value"]),
         "bias_baseline": (("event", "indicator"), bias["baseline"]),
         "bias_delta": (("event", "indicator"), bias["delta"]),
         "bias_severity": (("event", "indicator"), severity,
                           {"meaning": "-1 none, 0 ok, 1 warn, 2 alert"})},
        coords={"event": table["id"].to_numpy(), "split": list(SPLITS), "class": classes, "group": groups,
                "indicator": indicators, "seq": (ev, table["seq"].to_numpy()),
                "kind": (ev, table["kind"].to_numpy(dtype=object)),
                "actor": (ev, table["actor"].to_numpy(dtype=object)),
                "ts": (ev, table["ts"].to_numpy(dtype=object)),
                "parent_id": (ev, table["parent_id"].to_numpy()), "lane": (ev, table["lane"].to_numpy()),
                "on_head": (ev, table["on_head"].to_numpy().astype(np.int8)), "phase": (ev, phase)},
        attrs={"title": "hill-viz review data", "workspace": str(store.path.parent),
               "head": -1 if store.head is None else store.head, "schema_version": store.schema_version,
               "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def _ordered_union(mappings) -> list[str]:
    seen: dict[str, None] = {}
    for m in mappings:
        for key in m:
            seen.setdefault(str(key), None)
    return list(seen)


def export_review(store: EventStore, path: str | Path) -> Path:
    """Write `review_dataset(store)` to a NetCDF file (h5netcdf engine)."""
    path = Path(path)
    review_dataset(store).to_netcdf(path, engine="h5netcdf")
    return path


def edits_of(event: Event) -> list[int]:
    """Edit ids an event concerns (edit events, edits_applied, bias reports)."""
    p = event.params
    if "edit_ids" in p:
        return [int(i) for i in p["edit_ids"]]
    if "edit_id" in p:
        return [int(p["edit_id"])]
    return []


def bias_reports_for(store: EventStore, event: Event) -> list[Event]:
    """The bias reports about the edits an event concerns (the event itself if it is one)."""
    if event.kind == "bias_report":
        return [event]
    mine = set(edits_of(event))
    if not mine:
        return []
    return [e for e in store.events(("bias_report",), skip_malformed=True) if mine & set(edits_of(e))]


# -- latent snapshots: what moved between an event and now -----------------------------------------

def snapshot_event(store: EventStore, event_id: int) -> Event | None:
    """The event at or before `event_id` (on its path) whose latent snapshot shows the view then."""
    for ev in reversed(store.path_to(event_id)):
        if ev.artifact("snapshot"):
            return ev
    return None


def paired_points(then: pd.DataFrame, now: pd.DataFrame, max_points: int = 4000,
                  seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same samples (by id) in two snapshots, at most `max_points` of them, in id order."""
    ids = np.intersect1d(then["id"].to_numpy(), now["id"].to_numpy())
    if len(ids) > max_points:
        ids = np.sort(np.random.default_rng(seed).choice(ids, max_points, replace=False))
    pick = lambda df: df.set_index("id").loc[ids].reset_index()  # noqa: E731
    return pick(then), pick(now)


def moved_by_class(then: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """Per label: centroid then (x0, y0), now (x1, y1), its shift, and the median point shift."""
    a, b = paired_points(then, now, max_points=len(then) + len(now))
    shift = np.hypot(b["x"].to_numpy() - a["x"].to_numpy(), b["y"].to_numpy() - a["y"].to_numpy())
    rows = []
    for label in np.unique(a["label"].to_numpy()):
        m = (a["label"] == label).to_numpy()
        x0, y0, x1, y1 = a["x"][m].mean(), a["y"][m].mean(), b["x"][m].mean(), b["y"][m].mean()
        rows.append({"label": int(label), "n": int(m.sum()), "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                     "centroid_shift": float(np.hypot(x1 - x0, y1 - y0)),
                     "median_point_shift": float(np.median(shift[m]))})
    return pd.DataFrame(rows, columns=["label", "n", "x0", "y0", "x1", "y1", "centroid_shift",
                                       "median_point_shift"])
