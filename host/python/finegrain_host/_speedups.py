# mypy: disable-error-code="attr-defined,arg-type,union-attr"
"""Making wasmtime-py's generic component calls cheaper for a fixed interface.

wasmtime-py 50.0.1 converts every argument and result by walking its *type* through
the C API again on every call and for every value: ``Func.__call__`` asks for the
function type, each record asks for its fields, each variant for its cases, each
list for its element type (and each of those answers creates and frees C objects).
For this interface that introspection is about a third of the cost of a check.

:func:`accelerate` takes the types of one function once, freezes them (the same
wasmtime-py type classes, subclassed so that ``fields``/``cases``/``element``/
``payload``/``ok``/``err`` return the cached answer) and makes the function use
them. The conversions themselves are wasmtime-py's own.

One more thing is done here: lowering ``list<u8>`` (the policy bundle). wasmtime-py
lowers it byte by byte through Python (about 2.5 µs per byte: 0.45 s for a 175 KB
bundle). The fast path writes the same C array of values with two slice
assignments. It uses wasmtime-py's private ``_ffi`` layer, checks the struct layout
it relies on when first used, and falls back to the stock path if anything is not
as expected. (A corrupted bundle could not slip through anyway: the engine checks
the bundle's content digest.)
"""

from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Tuple

from wasmtime.component import Func, ListType, OptionType, RecordType, ResultType, TupleType, U8, VariantType

__all__ = ["accelerate"]


class _FrozenRecordType(RecordType):
    @property
    def fields(self) -> List[Tuple[str, Any]]:
        return self._fg_fields  # type: ignore[attr-defined,no-any-return]


class _FrozenVariantType(VariantType):
    @property
    def cases(self) -> List[Tuple[str, Optional[Any]]]:
        return self._fg_cases  # type: ignore[attr-defined,no-any-return]


class _FrozenOptionType(OptionType):
    @property
    def payload(self) -> Any:
        return self._fg_payload  # type: ignore[attr-defined]


class _FrozenResultType(ResultType):
    @property
    def ok(self) -> Any:
        return self._fg_ok  # type: ignore[attr-defined]

    @property
    def err(self) -> Any:
        return self._fg_err  # type: ignore[attr-defined]


class _FrozenTupleType(TupleType):
    @property
    def elements(self) -> List[Any]:
        return self._fg_elements  # type: ignore[attr-defined,no-any-return]


class _FrozenListType(ListType):
    @property
    def element(self) -> Any:
        return self._fg_element  # type: ignore[attr-defined]

    def convert_to_c(self, store: Any, val: Any, ptr: Any) -> None:
        if self._fg_bytes and isinstance(val, bytes) and _BYTES.ready():
            _BYTES.lower(val, ptr)
        else:
            super().convert_to_c(store, val, ptr)


def _freeze(ty: Any) -> Any:
    """Caches the type tree under `ty`, in place; returns `ty`."""
    if isinstance(ty, RecordType) and not isinstance(ty, _FrozenRecordType):
        ty._fg_fields = [(name, _freeze(field)) for name, field in ty.fields]
        ty.__class__ = _FrozenRecordType
    elif isinstance(ty, VariantType) and not isinstance(ty, _FrozenVariantType):
        ty._fg_cases = [(name, None if p is None else _freeze(p)) for name, p in ty.cases]
        ty.__class__ = _FrozenVariantType
    elif isinstance(ty, OptionType) and not isinstance(ty, _FrozenOptionType):
        ty._fg_payload = _freeze(ty.payload)
        ty.__class__ = _FrozenOptionType
    elif isinstance(ty, ResultType) and not isinstance(ty, _FrozenResultType):
        ok, err = ty.ok, ty.err
        ty._fg_ok = None if ok is None else _freeze(ok)
        ty._fg_err = None if err is None else _freeze(err)
        ty.__class__ = _FrozenResultType
    elif isinstance(ty, TupleType) and not isinstance(ty, _FrozenTupleType):
        ty._fg_elements = [_freeze(e) for e in ty.elements]
        ty.__class__ = _FrozenTupleType
    elif isinstance(ty, ListType) and not isinstance(ty, _FrozenListType):
        element = _freeze(ty.element)
        ty._fg_element = element
        ty._fg_bytes = isinstance(element, U8)
        ty.__class__ = _FrozenListType
    return ty


class _FrozenFuncType:
    """What ``Func.__call__`` reads of a function type: ``params`` and ``result``."""

    def __init__(self, fty: Any) -> None:
        self.params = [(name, _freeze(ty)) for name, ty in fty.params]
        result = fty.result
        self.result = None if result is None else _freeze(result)


class _AcceleratedFunc(Func):
    def type(self, store: Any) -> Any:
        return self._fg_type  # type: ignore[attr-defined]


def accelerate(func: Func, store: Any) -> Func:
    """Makes `func` reuse its types, frozen now, on every call. Returns `func`."""
    frozen = _FrozenFuncType(func.type(store))
    func._fg_type = frozen  # type: ignore[attr-defined]
    func.__class__ = _AcceleratedFunc
    return func


class _BytesLowering:
    """Writes a ``list<u8>`` value's C array in one go (see the module docstring)."""

    def __init__(self) -> None:
        self._state: Optional[bool] = None

    def ready(self) -> bool:
        if self._state is None:
            try:
                self._setup()
                self._state = True
            except Exception:  # anything unexpected: use wasmtime-py's own path
                self._state = False
        return self._state

    def _setup(self) -> None:
        from wasmtime import _ffi as ffi

        val_t = ffi.wasmtime_component_val_t
        union_t = dict(val_t._fields_)["of"]
        if dict(val_t._fields_)["kind"] is not ctypes.c_uint8 or dict(union_t._fields_)["u8"] is not ctypes.c_uint8:
            raise TypeError("unexpected wasmtime_component_val_t layout")
        self._ffi = ffi
        self._size = ctypes.sizeof(val_t)
        self._kind_offset = val_t.kind.offset
        self._u8_offset = val_t.of.offset + union_t.u8.offset
        self._kind_u8 = int(ffi.WASMTIME_COMPONENT_U8.value)
        self._kind_list = ffi.WASMTIME_COMPONENT_LIST
        if not (0 <= self._kind_offset < self._size and 0 <= self._u8_offset < self._size):
            raise TypeError("unexpected wasmtime_component_val_t layout")
        if self._kind_offset == self._u8_offset:
            raise TypeError("unexpected wasmtime_component_val_t layout")

    def lower(self, data: bytes, ptr: Any) -> None:
        ffi, size, n = self._ffi, self._size, len(data)
        raw = ffi.wasmtime_component_vallist_t()
        ffi.wasmtime_component_vallist_new_uninit(raw, n)
        if n:
            image = bytearray(size * n)
            image[self._kind_offset :: size] = bytes((self._kind_u8,)) * n
            image[self._u8_offset :: size] = data
            ctypes.memmove(raw.data, bytes(image), size * n)
        ptr.contents.kind = self._kind_list
        ptr.contents.of.list = raw


_BYTES = _BytesLowering()
