"""Benchmarks: the provider against crhelper's defaults, the migration tools, and a bare import.

``python -m bench`` (``make bench``) runs every measurement on this machine
with no AWS, prints one table and writes it to ``bench/results/`` as JSON and
Markdown. ``--quick`` runs tiny sizes once or twice: a smoke test, not a figure.
"""
