"""Benchmarks run by ``shems-optimizer bench TARGET``; one module per target."""
