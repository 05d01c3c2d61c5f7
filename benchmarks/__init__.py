"""Gatehouse benchmarks: runnable scripts that drive ``app(event, context)`` and print figures (see README.md)."""
