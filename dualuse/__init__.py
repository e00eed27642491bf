"""dualuse: land-use planning for energy access and land productivity under land degradation neutrality."""

__version__ = "0.1.0"
