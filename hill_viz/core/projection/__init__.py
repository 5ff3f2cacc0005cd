"""The view projection P: R^d -> R^2, frozen between refits and differentiable.

`Projection(method, sample_size, seed, **options)` is the one way to make any kind
(`pca`, `umap`, `identity`); `Projection.from_dict` restores any kind.
"""
from hill_viz.core.projection.frozen import (DEFAULT_ENV, DEFAULT_METHOD, DEFAULT_SAMPLE, LEARNED_METHODS, METHODS,
                                            Projection, default_method)
from hill_viz.core.projection.parametric_umap import UMAPConfig

__all__ = ["DEFAULT_ENV", "DEFAULT_METHOD", "default_method", "DEFAULT_SAMPLE", "LEARNED_METHODS", "METHODS", "Projection", "UMAPConfig"]
