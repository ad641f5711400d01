"""Benchmarks: `make bench`. Never imported by the tests' timing asserts (there are none)."""
