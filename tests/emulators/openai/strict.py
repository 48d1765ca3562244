"""The JSON-schema rules of strict structured outputs (``strict: true``), as OpenAI documents them.

- The root must be an object schema (``type: "object"``), not ``anyOf`` or any other type.
- Every object, wherever it sits (``properties``, ``items``, ``anyOf`` branches,
  ``$defs``/``definitions``), needs ``additionalProperties: false`` and must list
  every key of ``properties`` in ``required``.
- ``allOf`` and ``default`` are not permitted anywhere.

Problems are phrased like the API's: ``In context=('properties', 'x'), ...`` where
the context is the path of schema keywords from the root.
"""

from __future__ import annotations

from typing import Any

NOT_PERMITTED = ("allOf", "default")


def strict_problem(schema: Any) -> str | None:
    """What makes ``schema`` unusable as a strict schema, or None when it complies."""
    if not isinstance(schema, dict) or not _is_object(schema) or "anyOf" in schema:
        kind = schema.get("type") if isinstance(schema, dict) else type(schema).__name__
        return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."
    return _walk(schema, ())


def _is_object(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _walk(node: Any, context: tuple[str, ...]) -> str | None:
    if not isinstance(node, dict):
        return None
    where = f"In context={context!r}"
    for keyword in NOT_PERMITTED:
        if keyword in node:
            return f"{where}, '{keyword}' is not permitted."
    if _is_object(node):
        if node.get("additionalProperties") is not False:
            return f"{where}, 'additionalProperties' is required to be supplied and to be false."
        properties = node.get("properties") or {}
        missing = [name for name in properties if name not in (node.get("required") or [])]
        if missing:
            return (
                f"{where}, 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
        for name, sub in properties.items():
            if problem := _walk(sub, (*context, "properties", name)):
                return problem
    children: list[tuple[tuple[str, ...], Any]] = [((*context, "items"), node.get("items"))]
    for i, branch in enumerate(node.get("anyOf") or []):
        children.append(((*context, "anyOf", str(i)), branch))
    for keyword in ("$defs", "definitions"):
        for name, sub in (node.get(keyword) or {}).items():
            children.append(((*context, keyword, name), sub))
    for where_child, child in children:
        if problem := _walk(child, where_child):
            return problem
    return None
