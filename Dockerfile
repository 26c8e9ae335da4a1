# Mailroom: build with the pinned toolchain, run on a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, in a layer of their own: it is rebuilt only when Cargo.toml or
# Cargo.lock change, not on every source edit. The stub targets are replaced below.
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
COPY examples ./examples
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin mailroom \
    && rm -rf src
# The sources; README.md is built in (`mailroom --help` prints its settings table).
COPY src ./src
COPY templates ./templates
COPY locales ./locales
COPY static ./static
COPY migrations ./migrations
COPY README.md ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin mailroom

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/mailroom --create-home mailroom
COPY --from=build /src/target/release/mailroom /usr/local/bin/mailroom
USER mailroom
WORKDIR /var/lib/mailroom
ENV MAILROOM_LISTEN=0.0.0.0:8080 \
    MAILROOM_DATA_DIR=/var/lib/mailroom
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s CMD ["mailroom", "check"]
CMD ["mailroom", "serve"]
