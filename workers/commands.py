"""``/codex`` commands: ``run_command(job, runtime)``. Placeholder body; the contract is fixed."""

from __future__ import annotations

from workers.jobs import CommandJob
from workers.logs import get_logger
from workers.runtime import Runtime

log = get_logger("workers.commands")


def run_command(job: CommandJob, runtime: Runtime) -> None:
    """Run the command written in ``job``'s comment."""
    log.info(
        "command job received",
        repository=job.repository,
        pr_number=job.pr_number,
        command=job.command,
        comment_id=job.comment_id,
    )
