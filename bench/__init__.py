"""Lanes benchmarks: what the layer over the Temporal SDK costs, and where the limits are.

``uv run python -m bench --quick`` (see ``docs/performance.md``). Every comparison runs its sides
alternately in the same run against servers the benchmark starts itself on loopback.
"""
