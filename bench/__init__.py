"""Benchmarks against the peers a user would pick instead (not tests).

`make bench` runs every module here that has a ``main(args) -> str`` function;
`make bench NAME=aggregate` runs one. Each writes its section to
bench/results/NAME.md; the runner joins them into bench/results.md.
"""
