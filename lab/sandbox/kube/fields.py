"""Unknown fields: dropped like the real server's typed decoding does, or refused with fieldValidation=Strict.

The field names of each kind come from the official client's pydantic models (the JSON
names of their fields), walked recursively through lists, maps and nested models. Paths are
reported the way the API server reports them: ``unknown field "spec.containers[0].foo"``.
"""

from __future__ import annotations

import types
import typing
from functools import cache

import pydantic
from pydantic import AliasChoices

from .errors import ApiError
from .kinds import KINDS
from .validation import MODELS


@cache
def _fields(model: type[pydantic.BaseModel]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        json_name = alias.choices[0] if isinstance(alias, AliasChoices) else (alias or info.alias or name)
        out[str(json_name)] = info.annotation
    return out


def _unwrap(tp: object) -> list[object]:
    """The alternatives of Optional/Union/Annotated."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [x for a in typing.get_args(tp) for x in _unwrap(a) if x is not type(None)]
    return [tp]


def _walk_value(tp: object, value: object, path: str, unknown: list[str]) -> None:
    for alt in _unwrap(tp):
        origin = typing.get_origin(alt)
        if isinstance(alt, type) and issubclass(alt, pydantic.BaseModel) and isinstance(value, dict):
            _walk_model(alt, value, path + ".", unknown)
            return
        if origin in (list, typing.List) and isinstance(value, list):  # noqa: UP006
            (item,) = typing.get_args(alt) or (object,)
            for i, v in enumerate(value):
                _walk_value(item, v, f"{path}[{i}]", unknown)
            return
        if origin in (dict, typing.Dict) and isinstance(value, dict):  # noqa: UP006
            args = typing.get_args(alt)
            item = args[1] if len(args) == 2 else object
            for k, v in value.items():
                _walk_value(item, v, f"{path}.{k}", unknown)
            return


def _walk_model(model: type[pydantic.BaseModel], data: dict, prefix: str, unknown: list[str]) -> None:
    known = _fields(model)
    for key in list(data):
        if key not in known:
            unknown.append(prefix + key)
            del data[key]
        else:
            _walk_value(known[key], data[key], prefix + key, unknown)


def prune_unknown(kind: str, obj: dict) -> list[str]:
    """Remove unknown fields from obj in place; return their paths."""
    model = MODELS.get(kind)
    unknown: list[str] = []
    if model is not None:
        _walk_model(model, obj, "", unknown)
    return unknown


def check(kind: str, obj: dict, directive: str | None, warnings: list[str] | None) -> None:
    """Apply a fieldValidation directive (Strict / Warn / Ignore) to an object about to be stored."""
    unknown = prune_unknown(kind, obj)
    if not unknown:
        return
    messages = [f'unknown field "{p}"' for p in unknown]
    if directive == "Strict":
        info = KINDS[kind]
        raise ApiError(400, "BadRequest", f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: '
                                          "strict decoding error: " + ", ".join(messages))
    if warnings is not None and directive != "Ignore":
        warnings.extend(messages)
