"""
Benchmarks for pocketrelay: C{make bench} (C{python -m benchmarks.run})
runs them all and fails when a figure misses its target; each also runs
alone, e.g. C{python -m benchmarks.codec [--full]}.  C{make soak} is the
long memory soak (L{benchmarks.soak}).
"""
