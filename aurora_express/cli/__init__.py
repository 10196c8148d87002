"""The ``aurora-express`` command line (``main.main``); one module per group of commands."""
