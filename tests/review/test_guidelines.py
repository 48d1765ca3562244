"""Review guidelines from AGENTS.md: the section, and the nearest file that has one."""

from __future__ import annotations

from workers.review.guidelines import Guidelines, extract_section

ROOT = """# Project

Build with make.

## Review guidelines

- Flag any SQL built by string concatenation.
- Public functions need docstrings.

### Tests

Every bug fix comes with a test.

## Release

Tag and push.
"""


def test_section_runs_to_the_next_heading_of_same_or_higher_level() -> None:
    assert extract_section(ROOT) == (
        "- Flag any SQL built by string concatenation.\n"
        "- Public functions need docstrings.\n\n"
        "### Tests\n\n"
        "Every bug fix comes with a test."
    )


def test_heading_match_ignores_case_level_and_closing_hashes() -> None:
    text = "# Review Guidelines: #\nBe strict.\n# Other\nno"
    assert extract_section(text) == "Be strict."


def test_headings_inside_code_fences_do_not_count() -> None:
    text = (
        "```md\n## Review guidelines\nfake\n```\n"
        "## Review guidelines\nReal.\n~~~\n## Not a heading\n~~~\nStill real.\n## End\n"
    )
    assert extract_section(text) == "Real.\n~~~\n## Not a heading\n~~~\nStill real."


def test_absent_or_empty_section_is_none() -> None:
    assert extract_section("# Title\n\nNothing here.") is None
    assert extract_section("## Review guidelines\n\n## Next\n") is None


def test_section_length_is_bounded() -> None:
    text = "## Review guidelines\n" + "rule\n" * 10_000
    section = extract_section(text, max_bytes=500)
    assert section is not None
    assert len(section.encode()) <= 500
    assert section.endswith("(guidelines truncated)")


def test_nearest_agents_file_with_guidelines_wins() -> None:
    agents = {
        "AGENTS.md": ROOT,
        "services/api/AGENTS.md": "## Review guidelines\nAPI handlers must validate input.\n",
        "services/AGENTS.md": "# Services\nRun `make services`. No review section here.\n",
        "docs/NOTES.md": "## Review guidelines\nnot an AGENTS file\n",
    }
    result = Guidelines.resolve(
        agents,
        ["services/api/v1/users.py", "services/worker/jobs.py", "README.md", "docs/a.md"],
    )
    api = "API handlers must validate input."
    root = extract_section(ROOT)
    assert result.for_path("services/api/v1/users.py") == api
    # services/AGENTS.md has no section, so it does not hide the root's guidelines.
    assert result.for_path("services/worker/jobs.py") == root
    assert result.for_path("README.md") == root
    assert result.for_path("docs/a.md") == root
    assert [(g.source, g.paths) for g in result.sections] == [
        ("AGENTS.md", ("services/worker/jobs.py", "README.md", "docs/a.md")),
        ("services/api/AGENTS.md", ("services/api/v1/users.py",)),
    ]


def test_identical_sections_are_listed_once() -> None:
    same = "## Review guidelines\nNo prints.\n"
    result = Guidelines.resolve({"a/AGENTS.md": same, "b/AGENTS.md": same}, ["a/x.py", "b/y.py"])
    assert len(result.sections) == 1
    assert result.sections[0].paths == ("a/x.py", "b/y.py")
    assert result.for_path("b/y.py") == "No prints."


def test_no_guidelines_anywhere() -> None:
    result = Guidelines.resolve({"AGENTS.md": "# Just build notes"}, ["x.py"])
    assert result.sections == ()
    assert result.for_path("x.py") is None
