# syntax=docker/dockerfile:1
# The provider sandbox image for docker compose (development only; never deployed beside production).
# Built from the repository root: `docker build -f docker/sandbox.Dockerfile .`

FROM rust:1.95-slim-bookworm AS build
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY sandbox sandbox
# The product member only has to exist for the workspace to resolve; the sandbox does not depend on it.
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked -p concierge-sandbox --bin concierge-sandbox

FROM debian:bookworm-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin sandbox
WORKDIR /app
COPY --from=build /app/target/release/concierge-sandbox /usr/local/bin/concierge-sandbox
COPY config config
USER sandbox
ENV CONCIERGE_ENV=development \
    CONCIERGE_CONFIG_DIR=/app/config
EXPOSE 8090
ENTRYPOINT ["concierge-sandbox"]
CMD ["--listen", "0.0.0.0:8090"]
