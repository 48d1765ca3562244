"""Repository configuration: ``.github/codex-review.yml`` read from the default branch.

The file is written by the repository's maintainers but still crosses a trust
boundary, so it is validated by a pydantic model that forbids unknown keys.
``parse_config`` never raises: it returns a frozen ``RepoConfig`` or a
``ConfigErrors`` whose messages name the key and the line, ready to be shown
on the pull request. An absent or empty file gives the defaults.

``include`` and ``exclude`` hold gitignore-style globs; what they match is
defined in ``workers.diff.globs``, the one place that matches paths. Runs of
``*`` are stored as ``**``; each list holds at most ``MAX_GLOBS`` globs of at
most ``MAX_GLOB_CHARS`` characters.

Example::

    auto_review: true
    review_drafts: false
    include: ["src/**"]
    exclude: ["**/*.lock", "vendor/**"]
    min_inline_priority: P1      # P0..P1 inline, P2..P3 in the review body
    max_inline_comments: 15      # at most 30
    reasoning_effort: medium
    monthly_budget_usd: 50
    language: fr
    gate_on_p0: true
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from workers.diff.globs import MAX_GLOB_CHARS, MAX_GLOBS, PathRules, normalise

CONFIG_PATH: Final = ".github/codex-review.yml"
MAX_INLINE_CAP: Final = 30
MAX_CONFIG_BYTES: Final = 64 * 1024
_MAX_ERRORS: Final = 20

ReasoningEffort = Literal["minimal", "low", "medium", "high"]
_PRIORITY_WORD: Final = re.compile(r"^[Pp]([0-3])$")
_MODEL_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_LANGUAGE: Final = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")


def _glob(value: str) -> str:
    glob = normalise(value)
    if len(glob) > MAX_GLOB_CHARS:
        raise ValueError(
            f"is {len(glob)} characters long; a glob can have at most {MAX_GLOB_CHARS}"
            " characters (a shorter glob that names a directory covers all of it)"
        )
    return glob


# Runs of `*` are stored as `**` (the same meaning), so the limit counts what is matched.
Glob = Annotated[StrictStr, Field(min_length=1), AfterValidator(_glob)]


class RepoConfig(BaseModel):
    """What a repository asks of the reviewer. Priorities: 0 is P0, the most severe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    auto_review: StrictBool = True
    review_drafts: StrictBool = False
    review_bot_prs: StrictBool = False
    include: tuple[Glob, ...] = ()
    exclude: tuple[Glob, ...] = ()
    min_inline_priority: int = 2
    max_inline_comments: StrictInt = Field(default=20, ge=0, le=MAX_INLINE_CAP)
    model: StrictStr | None = None
    reasoning_effort: ReasoningEffort | None = None
    monthly_budget_usd: Annotated[float, Field(ge=0, strict=True)] | None = None
    language: StrictStr = "en"
    gate_on_p0: StrictBool = False
    incremental: StrictBool = True

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _glob_count(cls, value: object) -> object:
        if isinstance(value, list | tuple) and len(value) > MAX_GLOBS:
            raise ValueError(
                f"has {len(value)} globs; at most {MAX_GLOBS} are allowed. One glob can cover"
                " many files: a directory such as `docs/`, or a pattern such as `**/*.lock`"
            )
        return value

    @field_validator("min_inline_priority", mode="before")
    @classmethod
    def _priority(cls, value: object) -> int:
        if isinstance(value, str) and (match := _PRIORITY_WORD.match(value.strip())):
            return int(match.group(1))
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
            return value
        raise ValueError("must be one of P0, P1, P2, P3 (or 0 to 3)")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_NAME.match(value):
            raise ValueError("must be a model name such as `gpt-5-codex-mini`")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not _LANGUAGE.match(value):
            raise ValueError("must be a language code such as `en`, `fr` or `pt-BR`")
        return value

    @model_validator(mode="after")
    def _compile_globs(self) -> RepoConfig:
        self.path_filter()  # compiled here once; planning finds the same rules
        return self

    def path_filter(self) -> PathRules:
        """The include/exclude globs, compiled once for filtering many paths."""
        return PathRules.compile(self.include, self.exclude)


@dataclass(frozen=True, slots=True)
class ConfigErrors:
    """The configuration file is invalid; ``messages`` are user-facing, one per problem."""

    messages: tuple[str, ...]


def parse_config(text: str | None) -> RepoConfig | ConfigErrors:
    """Validate the text of ``.github/codex-review.yml``; ``None`` means the file is absent."""
    if text is None or not text.strip():
        return RepoConfig()
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        return ConfigErrors((f"`{CONFIG_PATH}` is larger than {MAX_CONFIG_BYTES} bytes.",))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return ConfigErrors((_yaml_message(error),))
    if root is None or data is None:
        return RepoConfig()
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        return ConfigErrors(
            (f"`{CONFIG_PATH}` line {root.start_mark.line + 1}: expected `key: value` pairs.",)
        )
    duplicates = _duplicate_keys(root)
    if duplicates:
        return ConfigErrors(tuple(duplicates[:_MAX_ERRORS]))
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as error:
        messages = [_validation_message(item, root) for item in error.errors()]
        return ConfigErrors(tuple(messages[:_MAX_ERRORS]))


def _yaml_message(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "invalid YAML"
    where = f" line {mark.line + 1}" if mark is not None else ""
    return f"`{CONFIG_PATH}`{where}: not valid YAML ({problem})."


def _duplicate_keys(root: yaml.MappingNode) -> list[str]:
    seen: set[str] = set()
    found: list[str] = []
    for key, _ in root.value:
        name = str(key.value)
        if name in seen:
            found.append(f"`{CONFIG_PATH}` line {key.start_mark.line + 1}: `{name}` is set twice.")
        seen.add(name)
    return found


def _node_at(root: yaml.Node, loc: Sequence[int | str]) -> tuple[yaml.Node, yaml.Node | None]:
    """The deepest node (and its key node, if in a mapping) that ``loc`` reaches."""
    node: yaml.Node = root
    key_node: yaml.Node | None = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if str(pair[0].value) == str(part)), None)
            if match is None:
                break
            key_node, node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            key_node, node = None, node.value[part]
        else:
            break
    return node, key_node


def _validation_message(item: Any, root: yaml.Node) -> str:
    loc: tuple[int | str, ...] = tuple(item["loc"])
    node, key_node = _node_at(root, loc)
    name = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    name = name.removeprefix(".") or "(file)"
    if item["type"] == "extra_forbidden":
        line = (key_node or node).start_mark.line + 1
        hint = difflib.get_close_matches(str(loc[0]), list(RepoConfig.model_fields), n=1)
        known = f" Did you mean `{hint[0]}`?" if hint else ""
        return f"`{CONFIG_PATH}` line {line}: unknown key `{name}`.{known}"
    line = node.start_mark.line + 1
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"`{CONFIG_PATH}` line {line}: `{name}` {_lower_first(message)}."


def _lower_first(message: str) -> str:
    message = message.rstrip(".")
    if message.startswith("Input should"):
        return "should" + message[len("Input should") :]
    return message[:1].lower() + message[1:]
