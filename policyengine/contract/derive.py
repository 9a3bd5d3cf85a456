"""msgspec structs derived from the contract's pydantic models (contract/models.py).

The fast path (contract/fastclaim.py) decodes claims with msgspec; the shape it decodes is
read from the models here, never written a second time: field names and JSON names, enums
(`Literal`), string lengths, integer bounds, list lengths, dates and nested objects. Every
field the model gives a default (or None) becomes optional with the default `UNSET`, so
that the fast path can tell an absent key from a given one (it counts the keys) and apply
the model's default itself. Money, quantities and prices become `Any`: the fast path
checks them exactly (the decimal places are read from the model's validator).

A model using a type this module does not know raises TypeError at import: the fast path
must never decode more leniently than the contract.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from msgspec import UNSET, Meta, UnsetType
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

_BOUNDS = {
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}


@functools.cache
def derive(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The msgspec struct decoding what `model` validates (before its validators run)."""
    fields: list[tuple[str, Any, Any] | tuple[str, Any]] = []
    rename = {}
    for name, info in model.model_fields.items():
        kind = _kind(info.annotation, list(info.metadata), f"{model.__name__}.{name}")
        if info.is_required():
            fields.append((name, kind))
        else:
            fields.append((name, Union[kind, None, UnsetType], UNSET))  # noqa: UP007 - built at run time
        if info.alias is not None:
            rename[name] = info.alias
    # gc=False: a decoded struct holds no cycle, and untracked ones cost less to make and free
    return msgspec.defstruct(
        f"{model.__name__}Struct", fields, kw_only=True, rename=rename or None, gc=False
    )


def required_count(model: type[BaseModel]) -> int:
    """How many of `model`'s fields a valid object must give."""
    return sum(info.is_required() for info in model.model_fields.values())


def places_of(model: type[BaseModel], name: str) -> int:
    """The decimal places `model`'s exact-decimal field `name` allows."""
    for meta in model.model_fields[name].metadata:
        if isinstance(meta, BeforeValidator) and isinstance(meta.func, functools.partial):
            return int(meta.func.keywords["places"])
    raise TypeError(f"{model.__name__}.{name} is not an exact decimal")


def _kind(annotation: Any, metadata: list[Any], where: str) -> Any:
    """The msgspec type of one annotation with its constraints (`metadata`)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        return _kind(base, [*more, *metadata], where)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"{where}: unions other than `X | None` are not derived")
        return _kind(members[0], metadata, where)  # None counts as absent (the models)
    bounds, validators = _constraints(metadata, where)
    if validators:
        return _validated(annotation, validators, bounds, where)
    meta = Meta(**bounds) if bounds else None
    if origin is tuple:
        item, ellipsis = get_args(annotation)
        if ellipsis is not Ellipsis:
            raise TypeError(f"{where}: only tuple[X, ...] is derived")
        return _with(tuple[_kind(item, [], where), ...], meta)  # type: ignore[misc]
    if origin is dict:
        key, value = get_args(annotation)
        return _with(dict[_kind(key, [], where), _kind(value, [], where)], meta)  # type: ignore[misc]
    if origin is Literal or annotation in (str, int, bool):
        return _with(annotation, meta)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and meta is None:
        return derive(annotation)
    raise TypeError(f"{where}: the fast path cannot derive {annotation!r}")


def _constraints(metadata: list[Any], where: str) -> tuple[dict[str, Any], list[Any]]:
    bounds: dict[str, Any] = {}
    validators = []
    for meta in metadata:
        if isinstance(meta, FieldInfo):
            more, found = _constraints(list(meta.metadata), where)
            bounds.update(more)
            validators += found
        elif type(meta) in _BOUNDS:
            key = _BOUNDS[type(meta)]
            bounds[key] = getattr(meta, key)
        elif isinstance(meta, BeforeValidator):
            validators.append(meta)
        elif type(meta).__name__ != "Strict":  # msgspec never converts between types
            raise TypeError(f"{where}: the fast path cannot derive the constraint {meta!r}")
    return bounds, validators


def _validated(annotation: Any, validators: list[Any], bounds: dict[str, Any], where: str) -> Any:
    """A field a before-validator reads: a date (msgspec's dates are the contract's:
    YYYY-MM-DD that exists), or an exact decimal the fast path checks itself."""
    if len(validators) != 1 or bounds:
        raise TypeError(f"{where}: one validator and no bounds expected")
    if annotation is dt.date:
        return dt.date
    if annotation is Decimal and isinstance(validators[0].func, functools.partial):
        return Any
    raise TypeError(f"{where}: the fast path cannot derive the validator of {annotation!r}")


def _with(kind: Any, meta: Meta | None) -> Any:
    return kind if meta is None else Annotated[kind, meta]


__all__ = ["derive", "places_of", "required_count"]
