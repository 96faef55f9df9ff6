"""Fixtures live in support.py (importable by the tests as ``support``)."""

from support import baton  # noqa: F401  (the module-scoped server fixture)
