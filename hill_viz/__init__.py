"""hill-viz: Human in the Latent Loop. See a model's latent space, reshape it, retrain.

    from hill_viz import Edit, Selector, Session

    s = Session("workspaces/mine")
    s.load_dataset("digits-shortcut", n=5000)
    s.build_model(latent_dim=16, seed=0)
    s.train(4, wait=True)
    s.add_edit(Edit.translate(Selector.of_label(3), dx=1.0, dy=0.0))
    s.apply_edits(epochs=5, wait=True)

The names below are imported on first use, so `import hill_viz` loads neither torch nor
Panel. The engine's wider API is in `hill_viz.core`; the app in `hill_viz.ui`.
"""
from hill_viz import errors
from hill_viz._lazy import lazy_exports
from hill_viz.errors import HillError

__version__ = "0.1.0"

_EXPORTS = {
    "hill_viz.session": ("Session",),
    "hill_viz.core.data": ("Dataset", "list_datasets", "load_dataset"),
    "hill_viz.core.edits": ("Edit", "Selector"),
    "hill_viz.core.teacher": ("TeacherConfig",),
    "hill_viz.core.bias": ("BiasConfig",),
    "hill_viz.core.provenance": ("Workspace",),
    "hill_viz.core.replay": ("replay",),
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = ["HillError", "__version__", "errors", *sorted(name for names in _EXPORTS.values() for name in names)]
