"""Suite-wide: AWS isolation, and the shared fixtures and the secret scan as plugins.

Fixtures and helpers live in ``tests.support`` (one definition each); a
folder's ``conftest.py`` holds only what differs there. Test files import
helpers from ``tests.support``, never from a conftest.
"""

from __future__ import annotations

import os

from aurora_express.local.cfn_local import OFFLINE_AWS_ENV

pytest_plugins = [
    "tests.support.aws",
    "tests.support.cfn",
    "tests.support.logs",
    "tests.support.polls",
    "tests.support.postgres",
    "tests.support.processes",
    "tests.support.world",
    "tests.support.secret_scan",
]

# Never reach a real account, whatever the developer's shell holds.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update({**OFFLINE_AWS_ENV, "POWERTOOLS_METRICS_NAMESPACE": "AuroraExpressTests"})
