"""Benchmarks (``make bench`` -> bench/run.py): not part of the default tests."""
