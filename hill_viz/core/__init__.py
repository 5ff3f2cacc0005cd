"""The engine: plain data in, plain data out. No Panel, HoloViews or Bokeh here.

Names are imported on first use (so `hill_viz.core.data` alone does not load torch).
`replay` is the module `hill_viz.core.replay`; its function is `hill_viz.replay`.
"""
from hill_viz._lazy import lazy_exports

_EXPORTS = {
    "hill_viz.core.data": ("SPLITS", "Dataset", "DatasetCard", "list_datasets", "load_dataset"),
    "hill_viz.core.edits": ("Edit", "ResolvedEdit", "Selector", "edits_from_json", "edits_to_json"),
    "hill_viz.core.model": ("LatentModel", "ModelSpec", "build_model", "infer"),
    "hill_viz.core.projection": ("Projection",),
    "hill_viz.core.frame": ("LatentFrame",),
    "hill_viz.core.teacher": ("Teacher", "TeacherConfig"),
    "hill_viz.core.training": ("Callback", "TrainConfig", "Trainer", "evaluate"),
    "hill_viz.core.bias": ("BiasConfig", "BiasReport", "measure_report", "predict_report"),
    "hill_viz.core.provenance": ("Event", "VerifyReport", "Workspace"),
    "hill_viz.core.replay": ("ReplayReport",),
    "hill_viz.core.review": ("export_review", "review_dataset", "timeline_table"),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
