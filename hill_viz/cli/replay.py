"""`hill-viz replay`: rebuild a workspace's model from its log alone; compare with the record.

Exit 0 when every recorded training segment's metrics, every teacher and the final
weights come out identical; 1 when anything differs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hill_viz.cli._common import positive_int, print_json
from hill_viz.errors import WorkspaceError

SHOWN = ("train_acc", "val_acc", "test_acc", "worst_group_acc")


def register(sub) -> None:
    p = sub.add_parser("replay", help="rebuild the model from a workspace's log and compare the metrics")
    p.add_argument("--workspace", type=Path, required=True, help="the recorded workspace")
    p.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for the replay's workspace")
    p.add_argument("--event", type=positive_int, help="replay the path to this event (default: the head)")
    p.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from hill_viz.core.provenance import Workspace
    from hill_viz.core.replay import replay
    from hill_viz.session import Session

    source = Workspace(args.workspace, read_only=True)
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        raise WorkspaceError(f"--out {args.out} is not empty; give a new folder for the replay")
    if args.out.resolve() == source.path.resolve():
        raise WorkspaceError("--out must differ from --workspace")
    check = source.verify(artifacts=True)
    if not check.ok:
        print(f"hill-viz: warning: the log does not verify ({check.first_bad}); replaying anyway",
              file=sys.stderr)
    # the model and its training log are rebuilt; bias reports are derived data (`hill-viz bias`)
    session = Session(args.out, live_frame=False, auto_bias=False)
    quiet = args.json
    report = replay(source, session, args.event, progress=None if quiet else _progress)
    if args.json:
        print_json(report.to_dict())
    else:
        _print(report)
    return 0 if report.exact else 1


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _print(report) -> None:
    if not report.segments:
        print("the log records no training segment: nothing to compare")
    for seg in report.segments:
        print(f"event {seg.event_id} (epoch {seg.epoch}): {'equal' if seg.equal else 'DIFFERENT'}")
        for line in seg.differences[:10]:
            print(f"    {line}")
    final = report.final
    if final is not None:
        print(f"\nfinal metrics (event {final.event_id}, epoch {final.epoch}):")
        print(f"  {'metric':16} {'recorded':>12} {'replayed':>12}")
        for key in SHOWN:
            print(f"  {key:16} {_fmt(final.recorded.get(key)):>12} {_fmt(final.replayed.get(key)):>12}")
    same = sum(eq for _, eq in report.teachers)
    print(f"teachers: {same}/{len(report.teachers)} identical; final weights: "
          f"{ {True: 'identical to the last checkpoint', False: 'DIFFERENT', None: 'no checkpoint to compare'}[report.weights_equal] }")
    print(f"replay {'EXACT' if report.exact else 'DIFFERS'}; its workspace: {report.out}")


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.6f}"
