"""What a review reads from GitHub before the model sees anything.

- ``trusted_branch``, ``read_config``: the repository's default branch and the
  ``.github/codex-review.yml`` on it (never the PR's base or head, which the
  PR's author may control); ``report_config_errors`` tells the PR, once per
  distinct set of errors, in the words of ``render_config_errors``;
- ``choose_scope``: the whole PR, or the commits since the last reviewed head
  when that is an ancestor of the head (compare API);
- ``open_mirror``: the repository's mirror at the head (``workers.mirror``),
  or, when it is not configured or cannot be had (git missing, too large, the
  fetch refused), nothing and the sentence the check run says about it;
- ``wanted_paths``, ``fetch_heads``: the files whose head contents the review
  needs, from the mirror in one ``git cat-file --batch``, else fetched
  concurrently through the API; one that cannot be read is reviewed from its
  diff only;
- ``commit_messages``: the messages of the PR's latest commits, for the
  commit subjects in the prompt, in one request (two at most).

``trusted`` lists the default branch once and calls ``read_config`` only when the
listing has the file; it reads the ``AGENTS.md`` files too. GitHub failures of the
optional reads (one file, the commit messages, the config-error comment) are logged
and degrade the review; the others propagate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from codex_common.jobs import ReviewJob
from codex_common.logs import get_logger
from workers.diff import FileDiff, PlanOptions, parse_patch, plan_review
from workers.diff.filters import skip_reason
from workers.diff.patch import FileStatus
from workers.github.client import GitHubClient
from workers.github.errors import GitHubError, NotFound
from workers.github.models import PullFile, PullRequest
from workers.mirror import AuthRefused, GitMissing, GitView, MirrorError, RepoMirrors, TooLarge
from workers.review.config import CONFIG_PATH, ConfigErrors, RepoConfig, parse_config
from workers.review.records import Notices
from workers.review.render import BODY_BUDGET, code_span
from workers.review.select import CompareStatus, ReviewScope, review_scope
from workers.review.threads import map_in_threads
from workers.sanitize import sanitize, truncate

log = get_logger("workers.review")

# The compare API lists at most this many files: a listing this long may be cut.
COMPARE_FILE_CAP = 300
# GitHub lists at most this many commits of a pull request, 100 per page.
PULL_COMMITS_CAP = 250
_COMMITS_PAGE = 100


def file_diff(pull_file: PullFile) -> FileDiff:
    """The parsed diff of one file as the PR files or compare API lists it."""
    return parse_patch(
        pull_file.filename,
        pull_file.patch,
        status=_FILE_STATUSES.get(pull_file.status, "modified"),
        old_path=pull_file.previous_filename,
    )


_FILE_STATUSES: dict[str, FileStatus] = {
    "added": "added",
    "removed": "removed",
    "modified": "modified",
    "renamed": "renamed",
    "copied": "copied",
    "changed": "changed",
    "unchanged": "unchanged",
}
_COMPARE_STATUSES: dict[str, CompareStatus] = {
    "ahead": "ahead",
    "behind": "behind",
    "diverged": "diverged",
    "identical": "identical",
}


def trusted_branch(gh: GitHubClient, pull: PullRequest) -> str:
    """The branch trusted configuration and guidelines are read from: the repository's
    default branch (never the PR's base or head, which the PR's author may control)."""
    if pull.default_branch:
        return pull.default_branch
    return gh.get_default_branch()


def read_config(gh: GitHubClient, branch: str) -> RepoConfig | ConfigErrors:
    """``.github/codex-review.yml`` on ``branch``; defaults when there is none."""
    data = gh.get_file(CONFIG_PATH, branch)
    return parse_config(None if data is None else data.decode("utf-8", "replace"))


def report_config_errors(
    gh: GitHubClient, notices: Notices, job: ReviewJob, errors: ConfigErrors
) -> None:
    """One comment per distinct set of errors on a PR, not one per push."""
    digest = hashlib.sha256("\n".join(errors.messages).encode()).hexdigest()[:16]
    if not notices.first_notice(job, f"config:{digest}"):
        return
    body = render_config_errors(errors, used_defaults=False)
    try:
        gh.create_issue_comment(job.pr_number, body)
    except GitHubError as exc:
        log.warning("could not report configuration errors", error=str(exc))


def render_config_errors(errors: ConfigErrors, *, used_defaults: bool) -> str:
    """A PR comment explaining why ``.github/codex-review.yml`` was not used.

    ``used_defaults`` says whether the review went ahead with the default settings.
    """
    items = "\n".join(f"- {sanitize(message, max_bytes=1_000)}" for message in errors.messages)
    outcome = (
        "This pull request was reviewed with the default settings."
        if used_defaults
        else "This pull request was not reviewed."
    )
    body = (
        f"### Codex review: configuration problem\n\n"
        f"{code_span(CONFIG_PATH)} on the default branch is invalid and was not used. "
        f"{outcome} Fix the file on the default branch, then comment `/codex review`."
        f"\n\n{items}"
    )
    return truncate(body, BODY_BUDGET)


def choose_scope(
    gh: GitHubClient,
    *,
    head: str,
    last_reviewed: str | None,
    incremental: bool,
    pr_diffs: tuple[FileDiff, ...],
) -> tuple[ReviewScope, tuple[FileDiff, ...]]:
    """Full or incremental, and the file diffs to segment."""
    status: CompareStatus | None = None
    truncated = False
    files: tuple[PullFile, ...] = ()
    if last_reviewed is not None and last_reviewed != head and incremental:
        try:
            comparison = gh.compare(last_reviewed, head)
        except NotFound:
            comparison = None  # the old head is gone: force-pushed away
        if comparison is not None:
            status = _COMPARE_STATUSES.get(comparison.status)
            files = comparison.files
            truncated = len(files) >= COMPARE_FILE_CAP
    scope = review_scope(
        head_sha=head,
        last_reviewed_sha=last_reviewed,
        compare_status=status,
        incremental=incremental,
        compare_truncated=truncated,
    )
    if scope.kind != "incremental":
        return scope, pr_diffs
    # Only files still changed by the PR can take comments.
    in_pr = {d.path for d in pr_diffs}
    return scope, tuple(file_diff(f) for f in files if f.filename in in_pr)


def wanted_paths(
    diffs: Sequence[FileDiff], options: PlanOptions, config: RepoConfig, max_files: int
) -> list[str]:
    """The files whose head contents the review needs.

    Every changed file the diff engine will review: not a file it skips whatever its
    contents (excluded, binary, deleted, a lockfile, vendored, generated by name or
    by its first lines in the diff, without textual changes). A PR with more than
    ``max_files`` of them is planned once without contents first, so that only the
    files within the budget are fetched.
    """
    rules = config.path_filter()
    candidates = sorted(
        d.path
        for d in diffs
        if d.hunks and d.status != "removed" and skip_reason(d, None, rules) is None
    )
    if len(candidates) <= max_files:
        return candidates
    rough = plan_review(diffs, {}, options)
    return sorted({f.path for segment in rough.segments for f in segment.files})


def open_mirror(
    mirrors: RepoMirrors | None, job: ReviewJob, pull: PullRequest
) -> tuple[GitView | None, str | None]:
    """The mirror at the PR's head, or ``None`` and one sentence for the check run saying
    why the review reads through the API (``None`` too when no mirror is configured)."""
    if mirrors is None:
        return None, None
    if not pull.clone_url:
        reason = "GitHub gave no clone URL for the repository"
    else:
        try:
            view = mirrors.view(job.installation_id, job.repository, pull.clone_url, pull.head_sha)
        except MirrorError as exc:
            log.warning("mirror unavailable: reading through the API", error=str(exc))
            reason = _mirror_reason(exc)
        else:
            return view, None
    return None, (
        f"The repository mirror was unavailable ({reason}), so files were read through "
        "the API and searches covered the changed files only."
    )


def _mirror_reason(exc: MirrorError) -> str:
    if isinstance(exc, TooLarge):
        return "the repository is larger than the mirror's size cap"
    if isinstance(exc, AuthRefused):
        return "the git fetch was refused"
    if isinstance(exc, GitMissing):
        return "git is not installed on the worker"
    return "the git fetch failed"


def fetch_heads(
    gh: GitHubClient,
    ref: str,
    paths: Sequence[str],
    *,
    max_bytes: int,
    concurrency: int,
    mirror: GitView | None = None,
) -> dict[str, str]:
    """Head contents of ``paths`` at ``ref``, from ``mirror`` when given (one process, no
    API call), else through the API; a file that cannot be read (or is larger than
    ``max_bytes``) is left out and logged: it is still reviewed from its diff, only
    without enclosing scopes and suggestions."""
    if mirror is not None:
        texts = mirror.read(paths)
        for path in paths:
            if path not in texts:
                log.warning("head contents unavailable", path=path, problem="not in the mirror")
        return {p: t for p, t in texts.items() if len(t.encode("utf-8", "replace")) <= max_bytes}

    def one(path: str) -> tuple[str, str | None, str | None]:
        try:
            data = gh.get_file(path, ref)
        except GitHubError as exc:
            return path, None, f"could not be read ({exc.status or type(exc).__name__})"
        if data is None:
            return path, None, "not found at the head commit"
        if len(data) > max_bytes:
            return path, None, f"larger than {max_bytes} bytes"
        return path, data.decode("utf-8", "replace"), None

    contents: dict[str, str] = {}
    for path, text, problem in map_in_threads(one, paths, concurrency):
        if text is not None:
            contents[path] = text
        elif problem is not None:
            log.warning("head contents unavailable", path=path, problem=problem)
    return contents


def commit_messages(gh: GitHubClient, pull: PullRequest, wanted: int) -> tuple[str, ...]:
    """The messages of the PR's latest (up to ``wanted``) commits, oldest first.

    Reads the last page GitHub lists (it lists the first 250 commits, oldest
    first), and the page before only when the last one holds fewer than
    ``wanted``: one request for a PR of up to 100 commits. Empty when GitHub
    cannot answer (logged): the review goes on without commit subjects.
    """
    listed = min(pull.commits, PULL_COMMITS_CAP)
    if listed <= 0 or wanted <= 0:
        return ()
    last = -(-listed // _COMMITS_PAGE)
    messages: tuple[str, ...] = ()
    try:
        for page in range(last, 0, -1):
            messages = gh.list_pull_commit_messages(pull.number, page=page) + messages
            if len(messages) >= wanted:
                break
    except GitHubError as exc:
        log.warning("could not read the commit messages", error=str(exc))
        return messages[-wanted:]
    return messages[-wanted:]
