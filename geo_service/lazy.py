"""Modules imported when first used, so that a server starts without the libraries only some requests need.

A worker that answers the OGC API from PostGIS needs neither pandas, GDAL nor Arrow; importing them took
about a second of every start, and an app that had answered an items page held 190 MB resident against
71 MB without them. The routes name the modules that load them
through ``LazyModule``; ``tests/test_lazy_imports.py`` checks what a started server has loaded.

Why by hand: ``importlib.util.LazyLoader`` (and ``lazy_loader``, built on it) lets a second thread see a
module half loaded before Python 3.12.3 (cpython gh-114763), and a gunicorn worker answers from several
threads. ``import_module`` takes the import lock, and after the first call is a dictionary lookup.
"""

from __future__ import annotations

from importlib import import_module


class LazyModule:
    """Stands for the module ``name``: its attributes, the module imported at the first one asked for."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
