# syntax=docker/dockerfile:1.7
# One image for Crewline's three services; the command picks one:
#   docker run IMAGE python -m dispatcher   (or matcher, ledger; the default is dispatcher)
# crewctl and `python -m crewline.cli` (topics, wait-healthy) are in it too.
#
# Stages: deps (the locked runtime packages), gen (protobuf code from protos/, as
# `make gen` does, so generated code is never committed), build (the project itself,
# installed into the venv, not editable), runtime (only the venv, as a non-root user).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.8

FROM ${PYTHON_IMAGE} AS uv
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN pip install "uv==${UV_VERSION}"
ENV UV_FROZEN=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1
WORKDIR /app

# The locked runtime dependencies, in their own layer: it changes only with uv.lock.
FROM uv AS deps
ENV UV_PROJECT_ENVIRONMENT=/app/.venv
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-install-project

# grpc_tools.protoc from the locked dev group, in a throwaway environment.
FROM uv AS gen
ENV UV_PROJECT_ENVIRONMENT=/gen/.venv
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --only-group dev --no-install-project
COPY protos/ protos/
RUN mkdir -p libs/crewline/v1 \
    && /gen/.venv/bin/python -m grpc_tools.protoc -Iprotos --python_out=libs \
       --grpc_python_out=libs protos/crewline/v1/*.proto \
    && touch libs/crewline/v1/__init__.py

# The project, with the generated code, installed as a wheel into the deps' venv.
FROM deps AS build
COPY libs/ libs/
COPY services/ services/
COPY --from=gen /app/libs/crewline/v1/ libs/crewline/v1/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --no-dev --no-editable \
    && /app/.venv/bin/python -c "import crewline.v1.task_service_pb2, dispatcher, matcher, ledger"

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
LABEL org.opencontainers.image.title="crewline" \
      org.opencontainers.image.description="Crewline's dispatcher, matcher and ledger services"
RUN groupadd --system --gid "${UID}" crewline \
    && useradd --system --uid "${UID}" --gid crewline --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin crewline \
    && install -d -o "${UID}" -g "${UID}" -m 0700 /var/lib/crewline/secrets
# /var/lib/crewline/secrets: where Compose's setup writes the local key material (a new
# named volume takes this directory's owner); Kubernetes mounts its Secrets there instead.
# Only the venv: sources, protos and build tools stay in the build stages.
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CREWLINE_LOG_FORMAT=json \
    CREWLINE_DISPATCHER_GRPC_ADDR=0.0.0.0:50051 \
    CREWLINE_MATCHER_GRPC_ADDR=0.0.0.0:50052 \
    CREWLINE_LEDGER_GRPC_ADDR=0.0.0.0:50053 \
    CREWLINE_DISPATCHER_METRICS_ADDR=0.0.0.0:9101 \
    CREWLINE_MATCHER_METRICS_ADDR=0.0.0.0:9102 \
    CREWLINE_LEDGER_METRICS_ADDR=0.0.0.0:9103
WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER ${UID}:${UID}
EXPOSE 50051 50052 50053 9101 9102 9103
STOPSIGNAL SIGTERM
CMD ["python", "-m", "dispatcher"]
