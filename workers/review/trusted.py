"""What a review reads from the repository's default branch, found from one listing.

``read_listing`` lists the default branch's whole tree in one call
(``GET git/trees/{branch}?recursive=1``). From it:

- ``read_config``: ``.github/codex-review.yml``, read only when the listing has it;
- ``read_agents``: only the ``AGENTS.md`` files that exist in a directory above a
  reviewed path are read, one call each, instead of one look-up per directory.

When GitHub cuts the listing (``truncated``: past 100,000 entries) a file it does
not list may still exist: then every candidate the listing does not name is looked
up as before, and the log says so. When the listing cannot be had at all, the
same fallback applies. A guideline that cannot be read is logged and left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from codex_common.logs import get_logger
from workers.github.client import GitHubClient
from workers.github.errors import GitHubError
from workers.github.models import TreeListing
from workers.review import inputs
from workers.review.config import CONFIG_PATH, ConfigErrors, RepoConfig, parse_config
from workers.review.guidelines import agents_candidates
from workers.review.threads import map_in_threads

log = get_logger("workers.review")


def read_listing(gh: GitHubClient, branch: str) -> TreeListing | None:
    """The tree of ``branch``; None (logged) when GitHub does not give it."""
    try:
        listing = gh.list_tree(branch)
    except GitHubError as exc:
        log.warning("could not list the default branch", branch=branch, error=str(exc))
        return None
    if listing.truncated:
        log.warning(
            "tree listing truncated: AGENTS.md files it does not name are looked up one by one",
            branch=branch,
            entries=len(listing.entries),
        )
    return listing


def read_config(
    gh: GitHubClient, branch: str, listing: TreeListing | None
) -> RepoConfig | ConfigErrors:
    """``.github/codex-review.yml`` on ``branch``; the defaults, without a call, when the
    listing shows there is none."""
    if listing is not None and not listing.may_hold(CONFIG_PATH):
        return parse_config(None)
    return inputs.read_config(gh, branch)


def agents_to_read(listing: TreeListing | None, paths: Sequence[str]) -> list[str]:
    """The ``AGENTS.md`` files to read for ``paths``: those the listing names in a
    directory above one of them, plus, when the listing is cut or missing, every
    candidate it does not name."""
    candidates = agents_candidates(paths)
    if listing is None or listing.truncated:
        return sorted(candidates)
    return sorted(candidates & listing.files())


def read_agents(
    gh: GitHubClient,
    branch: str,
    listing: TreeListing | None,
    paths: Sequence[str],
    *,
    concurrency: int,
) -> dict[str, str]:
    """The ``AGENTS.md`` files from ``branch`` that apply to ``paths``, by path."""

    def one(path: str) -> tuple[str, str | None]:
        try:
            data = gh.get_file(path, branch)
        except GitHubError as exc:
            log.warning("could not read guidelines", path=path, error=str(exc))
            return path, None
        return path, None if data is None else data.decode("utf-8", "replace")

    wanted = agents_to_read(listing, paths)
    return {
        path: text for path, text in map_in_threads(one, wanted, concurrency) if text is not None
    }
