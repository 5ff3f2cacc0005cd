"""`hill-viz bias`: the bias reports of a workspace's edits, as a table or JSON."""
from __future__ import annotations

from pathlib import Path

from hill_viz.cli._common import positive_int, print_json

WORDS = {"ok": "ok", "warn": "WARN", "alert": "ALERT"}


def register(sub) -> None:
    p = sub.add_parser("bias", help="print the bias reports of the edits in a workspace")
    p.add_argument("--workspace", type=Path, required=True, help="workspace folder")
    p.add_argument("--edit", type=positive_int, metavar="ID", help="only the reports about this edit")
    p.add_argument("--compute", action="store_true",
                   help="compute reports that were not recorded (and the pending edits' predicted report) "
                        "from the workspace's checkpoints; nothing is written")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.bias_records import applications, compute_missing, pending_report
    from hill_viz.core.provenance import Workspace

    ws = Workspace(args.workspace, read_only=True)
    apps = applications(ws, args.edit)
    pending = None
    if args.compute:
        apps = [compute_missing(ws, a) for a in apps]
        pending = pending_report(ws)
        if pending is not None and args.edit is not None and args.edit not in pending.edit_ids:
            pending = None
    if args.json:
        print_json({"workspace": str(ws.path), "applications": [a.to_dict() for a in apps],
                    "pending": None if pending is None else pending.to_dict()})
        return 0
    if not apps and pending is None:
        which = f" about edit {args.edit}" if args.edit else ""
        print(f"no applied edits{which} on the current branch of {ws.path}")
        return 0
    for app in apps:
        ids = _edit_list(app.edit_ids)
        print(f"edits {ids}: applied at event {app.event.id}, {app.event.metrics.get('n_covered', '?')} samples taught")
        for phase in ("predicted", "measured"):
            report = app.reports.get(phase)
            if report is None:
                why = "training not finished" if phase == "measured" and app.segment is None else \
                    "not recorded; --compute computes it"
                print(f"  {phase:9}  -      ({why})")
            else:
                _print_report(report, "computed now" if phase in app.computed else f"event {app.report_events[phase]}")
        print()
    if pending is not None:
        print(f"pending edits {_edit_list(pending.edit_ids)} (not applied yet)")
        _print_report(pending, "computed now")
    return 0


def _edit_list(ids, most: int = 8) -> str:
    ids = list(ids)
    if len(ids) <= most:
        return ", ".join(f"#{i}" for i in ids)
    return f"#{ids[0]}, #{ids[1]}, ... #{ids[-1]} ({len(ids)} edits)"


def _print_report(report, source: str) -> None:
    lights = "  ".join(f"{family} {WORDS[sev]}" for family, sev in report.families().items())
    print(f"  {report.phase:9}  {WORDS[report.severity]:5}  {lights}   ({source})")
    base = "control" if report.sizes.get("baseline") == "control" else "before"  # measured: vs a control run
    print(f"    {'indicator':40} {'value':>8} {base:>8} {'delta':>8}  severity  explanation")
    for ind in report.indicators:
        print(f"    {ind.key:40} {_num(ind.value):>8} {_num(ind.baseline):>8} {_num(ind.delta, True):>8}  "
              f"{WORDS[ind.severity]:8}  {ind.explanation}")


def _num(v, signed: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.3f}" if signed else f"{v:.3f}"
