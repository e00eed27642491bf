"""The land-use catalogue and scenario presets shipped with dualuse (TOML data, read by importlib.resources)."""
