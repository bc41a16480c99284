"""kstarlab: latent-space analysis of neural networks (k* distributions, geometric features)."""

from kstarlab.errors import InputError
from kstarlab.kstar import kstar_values
from kstarlab.summary import kstar_summary, pattern_averages

__version__ = "0.1.0"

__all__ = ["InputError", "__version__", "kstar_summary", "kstar_values", "pattern_averages"]
