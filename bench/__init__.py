"""Benchmarks (never timed tests): each module compares side by side in one run and
prints a table with ratios. Run all with `python -m bench`, one with `python -m bench NAME`."""
