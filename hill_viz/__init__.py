"""hill-viz: Human in the Latent Loop. See a model's latent space, reshape it, retrain."""

__version__ = "0.1.0"
__all__ = ["__version__"]
