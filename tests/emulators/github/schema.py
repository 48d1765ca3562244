"""Request bodies checked against GitHub's official OpenAPI description.

The models come from ``githubkit-schemas`` (generated from github/rest-api-description,
API version 2022-11-28). The model for an operation is named after its path template
and method (``/repos/{owner}/{repo}/git/trees`` POST -> ``ReposOwnerRepoGitTreesPostBody``);
operations whose body is a ``oneOf``/``anyOf`` have numbered variants. The generated
models ignore unknown keys; GitHub ignores them too, but a misspelt parameter is a bug
in the caller, so unknown keys are reported as violations here.
"""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any

from githubkit.compat import ExtraGitHubModel
from githubkit_schemas.v2022_11_28 import models
from pydantic import BaseModel, ValidationError


def model_name(method: str, template: str) -> str:
    words = re.split(r"[/{}_\-]+", template)
    return "".join(w[:1].upper() + w[1:] for w in words if w) + method.capitalize() + "Body"


@cache
def body_models(method: str, template: str) -> tuple[type[BaseModel], ...]:
    """The models a body for this operation must match (any one of them); () if none."""
    name = model_name(method, template)
    found = getattr(models, name, None)
    if found is not None:
        return (found,)
    variants = []
    for kind in ("Oneof", "Anyof"):
        i = 0
        while (variant := getattr(models, f"{name}{kind}{i}", None)) is not None:
            variants.append(variant)
            i += 1
    return tuple(variants)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += _nested_models(arg)
    return found


def _unknown_keys(model: type[BaseModel], data: Any, where: str) -> list[str]:
    if not isinstance(data, dict) or issubclass(model, ExtraGitHubModel):
        return []
    known: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        known[field.alias or name] = field.annotation
    problems = [
        f"{where}{key}: not a parameter of this operation" for key in data if key not in known
    ]
    for key, value in data.items():
        nested = _nested_models(known.get(key))
        if not nested:
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            label = f"{where}{key}[{i}]." if isinstance(value, list) else f"{where}{key}."
            problems += _unknown_keys(nested[0], item, label)
    return problems


def validate(method: str, template: str, body: Any) -> list[str]:
    """Problems with ``body`` for this operation; [] when it validates."""
    candidates = body_models(method, template)
    if not candidates:
        return [] if body in (None, {}) else [f"{method} {template} takes no body"]
    errors: list[str] = []
    for model in candidates:
        try:
            model.model_validate(body)
        except ValidationError as exc:
            errors += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            continue
        unknown = _unknown_keys(model, body, "")
        if not unknown:
            return []
        errors += unknown
    return errors
