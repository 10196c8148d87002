"""What the tests share, defined once; ``tests/conftest.py`` registers the fixtures suite-wide.

- ``aws``: ``express`` (moto, in-process, express semantics; ``@pytest.mark.express(...)``
  sets its timings), ``rds``, ``cloudformation``, ``fast_timing``, ``moto_url``/``aws``
  (moto's server, one per session), and ``clusters``/``instances``/``tags``.
- ``cfn``: ``cfn`` (a ResponseCollector), ``sim`` (the cluster handler driven as
  CloudFormation would), ``lambda_environment()``.
- ``postgres``: ``pg`` (one embedded PostgreSQL per session), ``db``, ``tls``, ``frozen``,
  ``target``, ``conn``/``open_conn``, ``admin``; ``USER``, ``connect()``, ``start_server()``.
- ``migrations``: migration sets from in-memory files (``mset``, ``run``) and what they
  left (``history``, ``tables``); ``EXAMPLES``.
- ``world``: ``World``/``world``, stacks and clusters as the provider leaves them.
- ``confirmed``: ``confirmed_event()``, a request moto's CloudFormation confirms.
- ``processes``: ``open_tmp``, ``processes_in()``; ``cli``: ``CLUSTER``, ``endpoint_args()``;
  ``paths``: ``ROOT``.
- ``logs``: every test leaves the ``provider`` logger as it found it (autouse).
- ``secret_scan``: the plugin that scans every session's output at its end;
  ``record_output``/``keep_output`` for output pytest does not capture, ``plant``.

Under pytest-xdist every session-scoped server is per worker, on an ephemeral port.
"""
