# One image for the receiver and the workers:
#   docker run IMAGE web      |  docker run IMAGE worker
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY workers ./workers
COPY codex_common ./codex_common
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 codex
COPY --from=build /install /usr/local
ENV PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=3000 LOG_FORMAT=json
USER codex
WORKDIR /home/codex
EXPOSE 3000
# The receiver answers /healthz; a worker container overrides this check in compose.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/healthz', timeout=2)" || exit 1
ENTRYPOINT ["codex-bot"]
CMD ["web"]
