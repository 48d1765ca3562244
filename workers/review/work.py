"""Step 7 of the review flow: what the segment reviewer is given.

Head contents of the files that need them (an added file is rebuilt from its patch,
the others are fetched), the ``AGENTS.md`` guidelines and the latest commit subjects
read meanwhile (the guidelines from the default branch's listing, ``trusted``), the
segment plan, and the PR's context.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from codex_common.jobs import ReviewJob
from workers.context.related import plan_context
from workers.diff import FileDiff, PlanOptions, plan_review
from workers.github.client import GitHubClient
from workers.github.models import PullRequest, TreeListing
from workers.mirror import RepoMirrors
from workers.model.ledger import CallContext
from workers.prompts.render import COMMIT_LIMIT, PullContext
from workers.review import inputs, trusted
from workers.review.config import RepoConfig
from workers.review.guidelines import Guidelines
from workers.review.heads import known_heads
from workers.review.outcome import PipelineSettings
from workers.review.segments import SegmentWork
from workers.review.toolhost import HeadToolHost


@dataclass(frozen=True, slots=True)
class Trusted:
    """Where guidelines come from: the default branch and its listing (None: not had)."""

    branch: str
    listing: TreeListing | None


def plan_work(
    settings: PipelineSettings,
    gh: GitHubClient,
    job: ReviewJob,
    pull: PullRequest,
    config: RepoConfig,
    source: Trusted,
    diffs: tuple[FileDiff, ...],
    pr_diffs: tuple[FileDiff, ...],
    mirrors: RepoMirrors | None,
) -> SegmentWork:
    """Head contents and guidelines, the plan, and what its review needs.

    Contents come from the repository's mirror at the head when ``mirrors`` can give
    it (else through the API, and the check run says so); the tool host returned in
    the work holds the mirror open until it is closed.
    """
    head = pull.head_sha
    options = PlanOptions(
        include=tuple(config.include),
        exclude=tuple(config.exclude),
        segment_tokens=settings.segment_tokens,
        total_tokens=settings.total_tokens,
    )
    wanted = inputs.wanted_paths(diffs, options, config, settings.max_content_files)
    # An added file is whole in its patch: only the other files are fetched. The
    # AGENTS.md files are read meanwhile and only waited for after planning.
    chosen = set(wanted)
    known = known_heads((d for d in pr_diffs if d.path in chosen), settings.max_file_bytes)
    concurrency = settings.fetch_concurrency
    with ThreadPoolExecutor(max_workers=2) as side:
        agents = side.submit(
            trusted.read_agents,
            gh,
            source.branch,
            source.listing,
            wanted,
            concurrency=concurrency,
        )
        commits = side.submit(inputs.commit_messages, gh, pull, COMMIT_LIMIT)
        mirror, note = inputs.open_mirror(mirrors, job, pull)
        fetched = inputs.fetch_heads(
            gh,
            head,
            [p for p in wanted if p not in known],
            max_bytes=settings.max_file_bytes,
            concurrency=concurrency,
            mirror=mirror,
        )
        contents = {**known, **fetched}
        plan = plan_review(diffs, contents, options)
        related = plan_context(plan, plan.files, contents, mirror, settings.context_tokens)
        agent_texts = agents.result()
        messages = commits.result()
    tools = None
    if settings.use_tools:
        close = mirror.close if mirror is not None else None
        tools = HeadToolHost(gh.get_file, head, contents, repo=mirror, on_close=close)
    elif mirror is not None:
        mirror.close()
    guidelines = Guidelines.resolve(
        agent_texts, [f.path for segment in plan.segments for f in segment.files]
    )
    context = PullContext(
        repository=job.repository,
        title=pull.title,
        body=pull.body,
        base_ref=pull.base_ref,
        head_ref=pull.head_ref,
        commit_messages=messages,
        commit_count=pull.commits,
    )
    return SegmentWork(
        plan=plan,
        options=options,
        contents=contents,
        context=context,
        call=CallContext(job.installation_id, job.repository, job.pr_number, head, job.delivery_id),
        guidelines=guidelines,
        language=config.language,
        tools=tools,
        model=config.model,
        reasoning_effort=config.reasoning_effort,
        related=related,
        notes=() if note is None else (note,),
    )
