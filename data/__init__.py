"""The project's own small tables, shipped as the package data ``mobility_plan.tables``.

This folder is mapped to ``mobility_plan.tables`` by ``pyproject.toml`` (``package-dir``) so that an
installed package carries its CSV tables, ``sources.toml``, scenarios and sweeps; the library reads
them through :func:`mobility_plan.data.tables_dir`. ``external/`` and ``cache/`` are not shipped.
"""
