# One image for the receiver and the workers:
#   docker run IMAGE web      |  docker run IMAGE worker
# Built from wheels only (amd64 and arm64 alike); the embedded Redis (the
# `embedded` extra) is left out: compose runs a Redis service.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# 1. Dependencies at the versions of the lock (uv pip compile): this layer is rebuilt
#    only when requirements.lock changes, never for a code change.
COPY requirements.lock ./
RUN pip install --prefix=/install --only-binary=:all: --requirement requirements.lock
# 2. The code, without touching the dependencies: a code change rebuilds from here.
COPY pyproject.toml README.md ./
COPY codex_common ./codex_common
COPY bot ./bot
COPY workers ./workers
RUN pip install --prefix=/install --no-deps .

FROM python:3.11-slim
RUN groupadd --gid 10001 codex && useradd --create-home --uid 10001 --gid 10001 codex
COPY --from=build /install /usr/local
ENV PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/codex
# 3000: the receiver; 9101: a worker's metrics (WORKER_METRICS_PORT, set in compose).
EXPOSE 3000 9101
# The receiver answers /healthz; a worker container overrides this check in compose
# (Celery's ping of that very worker).
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=2)"]
ENTRYPOINT ["codex-bot"]
CMD ["web"]
