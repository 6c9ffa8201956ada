# syntax=docker/dockerfile:1
# TodoPlatform's three images from one recipe. Build from the repository root, one target per image:
#   docker build --target todo-api -t ghcr.io/todoplatform/todo-api:dev .
#   docker build --target todo-worker -t ghcr.io/todoplatform/todo-worker:dev .
#   docker build --target todo-operator -t ghcr.io/todoplatform/todo-operator:dev .
# The build stage compiles the three binaries together: BuildKit builds it once for all three targets.
# Only the workspace's sources are copied (no target/, no .git), so no .dockerignore is needed.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY contract contract
COPY core core
COPY events events
COPY api-server api-server
COPY workers workers
COPY operator operator
COPY tests/e2e tests/e2e
COPY tests/pipeline tests/pipeline
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin todo-api --bin todo-worker --bin todo-operator \
    && cp target/release/todo-api target/release/todo-worker target/release/todo-operator /usr/local/bin/

# distroless: glibc and CA certificates, no shell or package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.source="https://github.com/todoplatform/todoplatform" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532

FROM runtime AS todo-api
LABEL org.opencontainers.image.title="todo-api" \
      org.opencontainers.image.description="TodoPlatform HTTP API"
COPY --from=build /usr/local/bin/todo-api /usr/local/bin/todo-api
ENTRYPOINT ["/usr/local/bin/todo-api"]
CMD ["serve"]

FROM runtime AS todo-worker
LABEL org.opencontainers.image.title="todo-worker" \
      org.opencontainers.image.description="TodoPlatform event workers"
COPY --from=build /usr/local/bin/todo-worker /usr/local/bin/todo-worker
ENTRYPOINT ["/usr/local/bin/todo-worker"]
CMD ["run"]

FROM runtime AS todo-operator
LABEL org.opencontainers.image.title="todo-operator" \
      org.opencontainers.image.description="Kubernetes operator for TodoPlatform"
COPY --from=build /usr/local/bin/todo-operator /usr/local/bin/todo-operator
ENTRYPOINT ["/usr/local/bin/todo-operator"]
CMD ["run"]
