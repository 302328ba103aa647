"""Exceptions. Every error the engine reports carries the engine's own message."""

from __future__ import annotations

__all__ = [
    "FinegrainError",
    "ComponentError",
    "BundleError",
    "ApplyError",
    "TokenNotFound",
    "EngineFailure",
]


class FinegrainError(Exception):
    """Base class. `message` is the engine's (or wasmtime's) one-line account."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ComponentError(FinegrainError):
    """The engine component cannot be compiled or instantiated by this host."""


class BundleError(FinegrainError):
    """The policy bundle was refused by `authorizer.load` (corrupt, truncated,
    another format version, digest mismatch)."""


class ApplyError(FinegrainError):
    """`apply` refused the updates; nothing was changed."""


class TokenNotFound(FinegrainError):
    """`inspect-token` knows no such token."""


class EngineFailure(FinegrainError):
    """The guest trapped (for example it ran out of its memory limit). Checks never
    raise this: they fail closed with a deny whose reason is `engine_failure`.
    The instance is rebuilt from the bundle and the updates applied so far
    before the next call."""
