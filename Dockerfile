# syntax=docker/dockerfile:1
# Multi-stage build: dependencies are compiled in their own layer so code changes rebuild only the crate.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /app
# Queries are checked against the committed .sqlx/ data: no database at build time.
ENV SQLX_OFFLINE=true
# The workspace's second member, the provider sandbox, is only a dev-dependency of the product: its manifest
# is needed to resolve the workspace, its code is not, and it never reaches this image.
COPY Cargo.toml Cargo.lock ./
COPY sandbox/Cargo.toml sandbox/Cargo.toml
RUN mkdir -p src sandbox/src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > sandbox/src/main.rs && touch sandbox/src/lib.rs \
    && cargo build --release --locked -p concierge --bin concierge \
    && rm -rf src
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY migrations migrations
COPY src src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked -p concierge --bin concierge

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin concierge
WORKDIR /app
COPY --from=build /app/target/release/concierge /usr/local/bin/concierge
COPY config config
USER concierge
ENV CONCIERGE_ENV=production \
    CONCIERGE_CONFIG_DIR=/app/config
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["concierge"]
CMD ["serve"]
