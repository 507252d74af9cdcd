# syntax=docker/dockerfile:1.7
# One image for Crewline's four services; the command picks one:
#   docker run IMAGE python -m dispatcher   (or matcher, ledger, quality; the default is dispatcher)
# crewctl and `python -m crewline.cli` (topics, wait-healthy) are in it too.
#
# Stages: gen (protobuf code from protos/, as `make gen` does, so generated code is never
# committed), wheels (the three distributions of the workspace, built with `uv build`:
# crewline-server, crewline-client with the generated code inside, crewctl), deps (the
# locked runtime packages), build (the deps' venv with the three wheels installed),
# runtime (only that venv, as a non-root user).
# deploy/image/build.sh (`make image`) builds it with podman from a local Debian base.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.8

FROM ${PYTHON_IMAGE} AS uv
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN pip install "uv==${UV_VERSION}"
ENV UV_FROZEN=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
WORKDIR /app
# What uv needs to read the workspace and its lock: the members' metadata, no sources.
COPY pyproject.toml uv.lock README.md ./
COPY packages/crewline-client/pyproject.toml packages/crewline-client/
COPY packages/crewctl/pyproject.toml packages/crewctl/

# grpc_tools.protoc from the locked dev group, in a throwaway environment.
FROM uv AS gen
ENV UV_PROJECT_ENVIRONMENT=/gen/.venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --only-group dev --no-install-workspace
COPY protos/ protos/
# As `make gen` does: the messages, their stubs for type checkers, and py.typed.
RUN mkdir -p packages/crewline-client/crewline/v1 \
    && PATH="/gen/.venv/bin:$PATH" /gen/.venv/bin/python -m grpc_tools.protoc -Iprotos \
       --python_out=packages/crewline-client --grpc_python_out=packages/crewline-client \
       --mypy_out=packages/crewline-client --mypy_grpc_out=packages/crewline-client \
       protos/crewline/v1/*.proto \
    && touch packages/crewline-client/crewline/v1/__init__.py \
       packages/crewline-client/crewline/v1/py.typed

# The three distributions, as `make dist` builds them: sdists, and wheels built from them;
# the SDK's hold the generated code.
FROM uv AS wheels
COPY libs/ libs/
COPY services/ services/
COPY packages/ packages/
COPY --from=gen /app/packages/crewline-client/crewline/v1/ packages/crewline-client/crewline/v1/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv build --all-packages --out-dir /dist

# The locked runtime dependencies of the three, in their own layer: it changes only with
# uv.lock. Hashes from the lock are checked; the workspace's own packages come as wheels.
FROM uv AS deps
ENV VIRTUAL_ENV=/app/.venv
RUN --mount=type=cache,target=/root/.cache/uv \
    uv export --quiet --no-dev --all-packages --no-emit-workspace --output-file /tmp/requirements.txt \
    && uv venv /app/.venv \
    && uv pip install --requirement /tmp/requirements.txt

FROM deps AS build
COPY --from=wheels /dist/ /dist/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv pip install --no-deps /dist/*.whl \
    && uv pip check \
    && /app/.venv/bin/python -c "import crewline.v1.task_service_pb2, crewline.ctl.main, dispatcher, matcher, ledger, quality"

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
LABEL org.opencontainers.image.title="crewline" \
      org.opencontainers.image.description="Crewline's dispatcher, matcher, ledger and quality services"
RUN groupadd --system --gid "${UID}" crewline \
    && useradd --system --uid "${UID}" --gid crewline --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin crewline \
    && install -d -o "${UID}" -g "${UID}" -m 0700 /var/lib/crewline/secrets
# /var/lib/crewline/secrets: where Compose's setup writes the local key material (a new
# named volume takes this directory's owner); Kubernetes mounts its Secrets there instead.
# Only the venv: sources, protos, wheels and build tools stay in the build stages.
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CREWLINE_LOG_FORMAT=json \
    CREWLINE_DISPATCHER_GRPC_ADDR=0.0.0.0:50051 \
    CREWLINE_MATCHER_GRPC_ADDR=0.0.0.0:50052 \
    CREWLINE_LEDGER_GRPC_ADDR=0.0.0.0:50053 \
    CREWLINE_QUALITY_GRPC_ADDR=0.0.0.0:50054 \
    CREWLINE_DISPATCHER_METRICS_ADDR=0.0.0.0:9101 \
    CREWLINE_MATCHER_METRICS_ADDR=0.0.0.0:9102 \
    CREWLINE_LEDGER_METRICS_ADDR=0.0.0.0:9103 \
    CREWLINE_QUALITY_METRICS_ADDR=0.0.0.0:9104
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER ${UID}:${UID}
EXPOSE 50051 50052 50053 50054 9101 9102 9103 9104
STOPSIGNAL SIGTERM
CMD ["python", "-m", "dispatcher"]
