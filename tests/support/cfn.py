"""CloudFormation and Lambda for tests: a ResponseURL to PUT to, and the simulator that drives
the cluster handler as CloudFormation and EventBridge would.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from aurora_express.local.cfn_local import ResponseCollector
from aurora_express.local.moto_express import ExpressSemantics
from aurora_express.local.simulator import LifecycleSimulator
from provider.cluster import handler as cluster_handler


@pytest.fixture
def cfn() -> Iterator[ResponseCollector]:
    with ResponseCollector() as collector:
        yield collector


@pytest.fixture
def sim(express: ExpressSemantics, cfn: ResponseCollector) -> LifecycleSimulator:
    """CloudFormation and EventBridge for stack ``app``, resource ``Db``, a 900 s Lambda."""
    return LifecycleSimulator(cluster_handler.handler, cfn, stack_name="app", logical_id="Db")


_environments = itertools.count()


def lambda_environment() -> ModuleType:
    """A fresh copy of the cluster handler module, as a second Lambda execution environment.

    Lambda never runs two invocations at once in one process: each has its
    own crhelper object and clients. Threads that each call their own copy
    get the same isolation (copies share only the stateless modules below).
    Make copies in one thread: crhelper's constructor patches a module global.
    """
    name = f"cluster_handler_environment_{next(_environments)}"
    spec = importlib.util.spec_from_file_location(name, cluster_handler.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
