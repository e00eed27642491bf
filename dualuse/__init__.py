"""dualuse: land-use planning for energy access and land productivity under land degradation neutrality."""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``dualuse.sweep(...)`` and ``dualuse.pareto(...)`` without importing them first: the modules
    ``dualuse.sweep`` and ``dualuse.pareto`` are callable (``run_sweep``, ``run_pareto``)."""
    if name in ("sweep", "pareto"):
        import importlib
        return importlib.import_module(f"dualuse.{name}")
    raise AttributeError(f"module 'dualuse' has no attribute '{name}'")
