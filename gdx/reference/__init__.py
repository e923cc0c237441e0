"""Reference data shipped as package data (read with importlib.resources)."""
