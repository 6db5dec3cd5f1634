"""Benchmarks (``make bench`` -> lab/bench/run.py): not part of the default tests."""
