"""Benchmark and data-generation scripts (run them as `python bench/<name>.py`; see bench/README.md)."""
