"""Function tools the model may call while reviewing, and the host that answers them.

Definitions use the flat Responses shape ``{type, name, description, parameters, strict}``.
The worker implements ``ToolHost`` over the PR's head commit; nothing here reads files.

What ``search`` looks through depends on the host (the changed files only, or the
whole repository), so its description does not name a scope: the host declares
it (``ToolHost.search_scope``) and ``tool_notes`` puts it in the instructions'
tools section, which is rendered from this list, so a tool is described to the
model only when it is offered.
"""

from __future__ import annotations

import json
from typing import Any, Final, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workers.model.wire import FunctionCall


class ToolHost(Protocol):
    """Answers tool calls from the PR's head commit. Errors are returned as text, not raised."""

    @property
    def scope(self) -> str:
        """Where ``search`` and ``find_references`` look, in words for the model."""
        ...

    def read_file(self, path: str, start_line: int, end_line: int) -> str: ...

    def search(self, pattern: str) -> str: ...

    def find_references(self, symbol: str) -> str: ...

    @property
    def search_scope(self) -> str:
        """What ``search`` looks through, as a phrase ("the pull request's changed files")."""
        ...


TOOL_DEFINITIONS: Final[list[dict[str, Any]]] = [
    {
        "type": "function",
        "name": "read_file",
        "description": (
            "Read lines start_line to end_line (1-based, inclusive; at most 400 lines per "
            "call) of a file of the repository at the pull request's head commit. The answer "
            "gives each line with its number, or starts with 'error:'. Paths are "
            "repository-relative, as shown in the diff."
        ),
        "strict": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path", "start_line", "end_line"],
            "properties": {
                "path": {"type": "string"},
                "start_line": {"type": "integer"},
                "end_line": {"type": "integer"},
            },
        },
    },
    {
        "type": "function",
        "name": "search",
        "description": (
            "Find the lines that contain pattern as a literal string (case-sensitive, not a "
            "regular expression) at the pull request's head commit, within the scope the "
            "instructions' Tools section states. Answers 'path:line: text' lines, at most "
            "50, or says there is no match."
        ),
        "strict": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pattern"],
            "properties": {"pattern": {"type": "string"}},
        },
    },
    {
        "type": "function",
        "name": "find_references",
        "description": (
            "Find where a function, method, class or constant is defined and used, by "
            "its name: every line holding the name as a whole word, as path:line: text."
        ),
        "strict": True,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "required": ["symbol"],
            "properties": {"symbol": {"type": "string"}},
        },
    },
]


def tool_definitions(host: ToolHost) -> list[dict[str, Any]]:
    """``TOOL_DEFINITIONS`` with the host's search scope added to the searching tools."""
    return [
        {**tool, "description": f"{tool['description']} Searches {host.search_scope}."}
        if tool["name"] in ("search", "find_references")
        else tool
        for tool in TOOL_DEFINITIONS
    ]


def tool_notes(host: ToolHost) -> tuple[tuple[str, str], ...]:
    """``(name, description)`` of every tool offered with ``host``, for the instructions:
    each definition's own description, and ``search``'s scope as the host declares it."""
    notes = []
    for definition in tool_definitions(host):
        name = str(definition["name"])
        description = str(definition["description"])
        notes.append((name, description))
    return tuple(notes)


class _ReadFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    path: str = Field(min_length=1, max_length=1000)
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)


class _Search(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    pattern: str = Field(min_length=1, max_length=500)


class _FindReferences(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    symbol: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def run_tool(host: ToolHost, call: FunctionCall, *, max_chars: int) -> str:
    """Answer one function call; bad arguments and unknown tools become error text for the model."""
    try:
        arguments = json.loads(call.arguments)
        if call.name == "read_file":
            read = _ReadFile.model_validate(arguments)
            if read.end_line < read.start_line:
                return "error: end_line is before start_line"
            output = host.read_file(read.path, read.start_line, read.end_line)
        elif call.name == "search":
            output = host.search(_Search.model_validate(arguments).pattern)
        elif call.name == "find_references":
            output = host.find_references(_FindReferences.model_validate(arguments).symbol)
        else:
            return f"error: unknown tool {call.name!r}"
    except (ValueError, ValidationError) as exc:
        return f"error: invalid arguments: {exc}"[:1000]
    if len(output) > max_chars:
        return output[:max_chars] + "\n[output truncated]"
    return output
