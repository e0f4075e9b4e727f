"""
Benchmarks for pocketrelay: run C{python -m benchmarks.codec} (or C{make bench}).
"""
