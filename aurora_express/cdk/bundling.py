"""Lambda code assets built on this machine, as ``sam build`` builds them: no Docker.

The provider's functions are bundled by ``aurora_express.provider_build``, the
build the Makefile's ``build-*`` targets run for ``sam build``: the pinned
requirements as arm64 CPython 3.13 wheels (``pip --platform``), the
function's own part of ``provider/``, bytecode. ``python_code`` does the same
for a folder of the app's own (its ``requirements.txt`` and its files).

Bundling runs once per asset hash: the hash covers the source folder and the
build (``provider_build.py`` itself), and ``cdk synth`` reuses a bundle
already in its output folder. Tests that only look at resources skip it with
the context ``aws:cdk:bundling-stacks: []``, as ``cdk synth --exclusively``
does for stacks it does not deploy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from aurora_express import provider_build

# Never pulled: local bundling always builds (or fails saying why). The asset
# API needs an image for the case where it does not.
_UNUSED_IMAGE = DockerImage.from_registry("public.ecr.aws/sam/build-python3.13")
_EXCLUDE = ["**/__pycache__", "**/*.pyc", "**/.DS_Store"]
_BUILD_HASH = hashlib.sha256(Path(provider_build.__file__).read_bytes()).hexdigest()[:16]


@jsii.implements(ILocalBundling)
class LocalBuild:
    """Bundles by calling ``build(output_dir)`` in this process."""

    def __init__(self, build: Callable[[Path], None]) -> None:
        self._build = build

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        self._build(Path(output_dir))
        return True


def _bundling(build: Callable[[Path], None], what: str) -> BundlingOptions:
    # The environment is never seen by the build; it is part of the asset
    # hash, so each function (and each version of the build) has its own.
    environment = {"AURORA_EXPRESS_BUILD": what, "AURORA_EXPRESS_BUILD_HASH": _BUILD_HASH}
    return BundlingOptions(image=_UNUSED_IMAGE, local=LocalBuild(build), environment=environment)


def provider_code(logical_id: str) -> lambda_.Code:
    """The code of template.yaml's function ``logical_id``, as ``sam build`` makes it."""
    if logical_id not in provider_build.FUNCTIONS:
        raise ValueError(f"no build for {logical_id!r}")

    def build(target: Path) -> None:
        provider_build.build_function(logical_id, target)

    return lambda_.Code.from_asset(
        str(provider_build.PROVIDER_DIR), exclude=_EXCLUDE, bundling=_bundling(build, logical_id)
    )


def python_code(
    folder: str | Path,
    *,
    requirements: str | Path | None = None,
    exclude: Sequence[str] = (),
) -> lambda_.Code:
    """A folder of Python for an arm64 ``python3.13`` function, its requirements installed.

    ``requirements`` defaults to the folder's ``requirements.txt`` when there
    is one; its packages are installed as arm64 wheels (``pip --platform``,
    binary wheels only), as the provider's own are.
    """
    source = Path(folder).resolve()
    if not source.is_dir():
        raise ValueError(f"python_code: {source} is not a folder")
    wanted = Path(requirements).resolve() if requirements is not None else None
    if wanted is None and (source / "requirements.txt").is_file():
        wanted = source / "requirements.txt"

    def build(target: Path) -> None:
        provider_build.build_folder(target, wanted, [(source, ".")])

    # The requirements file may live outside the folder the hash covers.
    pins = hashlib.sha256(wanted.read_bytes()).hexdigest()[:16] if wanted else "none"
    return lambda_.Code.from_asset(
        str(source),
        exclude=[*_EXCLUDE, *exclude],
        bundling=_bundling(build, f"python_code requirements={pins}"),
    )
