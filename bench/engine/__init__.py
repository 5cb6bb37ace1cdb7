"""The engine: prepare (``plan``) -> generate -> grade -> report (``runner``), and the CI gate.

Example: ``ragft run configs/demo.toml``
"""
