"""Globs: the gitignore-style semantics the module documents, one engine for config and plan."""

from __future__ import annotations

import pytest

from workers.diff.globs import Glob, GlobList, PathRules, normalise
from workers.diff.patch import parse_patch
from workers.diff.plans import PlanOptions
from workers.diff.segment import plan_review
from workers.review.config import RepoConfig, parse_config

# (glob, path, matched): each line of the module docstring, and the edges around it.
CASES = [
    ("*.md", "README.md", True),
    ("*.md", "docs/deep/x.md", True),  # no slash: any depth
    ("*.md", "docs/x.mdx", False),
    ("/README.md", "README.md", True),
    ("/README.md", "docs/README.md", False),  # a leading slash anchors
    ("src/gen", "src/gen/api.py", True),  # a slash inside anchors, a directory covers its files
    ("src/gen", "lib/src/gen/api.py", False),
    ("generated", "a/b/generated/x.py", True),
    ("docs/", "docs/x.md", True),
    ("docs/", "docs", False),  # a trailing slash matches directories only
    ("docs/*", "docs/x.md", True),
    ("docs/*", "docs/api/x.md", True),  # `docs/api` matches, and covers its files
    ("docs/*.md", "docs/api/x.md", False),  # a star stays within a segment
    ("**/test_*.py", "test_a.py", True),
    ("**/test_*.py", "a/b/test_a.py", True),
    ("src/**/*.py", "src/a.py", True),  # `/**/` is zero or more directories
    ("src/**/*.py", "src/a/b/c.py", True),
    ("src/**", "src/a/b.py", True),
    ("src/**", "src", False),  # `/**` at the end: only what is inside
    ("a?c.txt", "abc.txt", True),
    ("a?c.txt", "a/c.txt", False),
    ("[ab]*.go", "b_test.go", True),
    ("[!ab]*.go", "b_test.go", False),
    ("[a-c]x", "bx", True),
    ("\\#notes", "#notes", True),  # an escaped character is literal
    ("#notes", "#notes", False),  # a comment
    ("a***b", "axxb", True),  # other runs of stars are one star
    ("a***b", "ax/xb", False),
    ("x.py  ", "x.py", True),  # trailing spaces are dropped
    ("[unclosed", "[unclosed", True),
]


@pytest.mark.parametrize(("glob", "path", "matched"), CASES)
def test_glob_semantics(glob: str, path: str, matched: bool) -> None:
    assert GlobList.parse([glob]).matches(path) is matched


def test_the_last_matching_glob_decides() -> None:
    globs = GlobList.parse(["*.py", "!tests/", "tests/keep.py"])
    assert globs.matches("src/a.py")
    assert not globs.matches("tests/a.py")
    assert globs.matches("tests/keep.py")


def test_blank_and_comment_globs_match_nothing() -> None:
    assert Glob.parse("   ") is None
    assert Glob.parse("# a comment") is None
    assert Glob.parse("!") is None
    assert not GlobList.parse(["", "#x"]).matches("x")


def test_runs_of_stars_normalise_to_two() -> None:
    assert normalise("a/****/b***c*d") == "a/**/b**c*d"
    assert normalise("*" * 30 + "a") == "**a"


def test_exclude_wins_over_include() -> None:
    rules = PathRules.compile(["src/**"], ["src/gen/"])
    assert rules.verdict("src/gen/x.py") == "excluded"
    assert rules.verdict("lib/x.py") == "not_included"
    assert rules.verdict("src/x.py") is None


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("glob", "path", "matched"),
    [
        ("*" * 30 + "a", "x" * 100 + "/b", False),
        ("*" * 30 + "a", "b/" + "x" * 100 + "a", True),
        ("*a" * 100 + "*b", "a" * 400 + "c", False),
        ("*a" * 100 + "*b", "a" * 400 + "b", True),
        ("**/" + "a/" * 100 + "b", "/".join(["a"] * 1000) + "/c", False),
        ("**/" + "a*/" * 60 + "b", "/".join(["a"] * 1000) + "/b", True),
        ("[ab][ab]*[ab]" * 20, "ab" * 300 + "c", False),
        ("[ab][ab]*[ab]" * 20, "ab" * 300, True),
    ],
)
def test_pathological_globs_are_decided_quickly_and_correctly(
    glob: str, path: str, matched: bool
) -> None:
    # With backtracking regular expressions each of these took from seconds to hours.
    globs = GlobList.parse([glob] * 100)
    assert globs.matches(path) is matched


@pytest.mark.parametrize(
    "exclude",
    [("docs/**", "!docs/api/"), ("docs/", "!docs/api/"), ("docs/*", "!docs/api/**")],
)
def test_config_filter_and_plan_agree_on_a_re_included_directory(
    exclude: tuple[str, ...],
) -> None:
    config = parse_config(f"exclude: {list(exclude)}\n")
    assert isinstance(config, RepoConfig)
    paths = ("docs/api/x.md", "docs/x.md", "src/a.py")
    files = [parse_patch(p, "@@ -0,0 +1 @@\n+text\n", status="added") for p in paths]
    options = PlanOptions(include=config.include, exclude=config.exclude)
    plan = plan_review(files, {}, options)
    filtered = {p for p in paths if config.path_filter().reason_skipped(p) is not None}
    skipped = {s.path for s in plan.skipped}
    assert filtered == skipped == {"docs/x.md"}
    assert [(s.kind, s.reason) for s in plan.skipped] == [("excluded", "excluded by configuration")]
