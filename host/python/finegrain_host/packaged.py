"""The engine component shipped inside the wheel.

A wheel built by ``scripts/release`` (or ``scripts/python-wheel``) carries
``finegrain_host/finegrain.wasm``, so an installed package needs neither Rust
nor a separate download::

    import finegrain_host
    authz = finegrain_host.load_bundle("acme.bundle")

A source checkout has no packaged component until one is built; pass one to
:meth:`Authorizer.from_files` instead.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Optional, Union

import wasmtime

from .authorizer import Authorizer
from .errors import ComponentError

COMPONENT_FILE = "finegrain.wasm"

__all__ = ["COMPONENT_FILE", "packaged_component", "load_bundle"]


def packaged_component() -> bytes:
    """The bytes of the engine component inside this package.

    Raises :class:`ComponentError` when the package has none (a source checkout
    that was not built into a wheel)."""
    resource = resources.files(__package__).joinpath(COMPONENT_FILE)
    try:
        return resource.read_bytes()
    except FileNotFoundError:
        raise ComponentError(
            f"{resource}: this finegrain_host has no packaged component; install the wheel "
            "from scripts/release, or pass a component to Authorizer.from_files"
        ) from None


def load_bundle(
    bundle: Union[bytes, str, "os.PathLike[str]"], *, engine: Optional[wasmtime.Engine] = None
) -> Authorizer:
    """An :class:`Authorizer` for `bundle` (its bytes, or a path to it) on the
    packaged component."""
    if not isinstance(bundle, (bytes, bytearray, memoryview)):
        with open(bundle, "rb") as file:
            bundle = file.read()
    return Authorizer.from_bytes(packaged_component(), bytes(bundle), engine=engine)
