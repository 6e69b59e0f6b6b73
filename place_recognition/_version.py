"""The package's version: one place, read by ``pyproject.toml`` (setuptools, without importing
the package) and by ``place_recognition.__version__``."""

__version__ = "0.1.0"
