"""Benchmarks: they print figures and fail on nothing. `make bench` runs them all."""
