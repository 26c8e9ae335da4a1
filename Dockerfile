# Mailroom: build with the pinned toolchain, run on a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin mailroom

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
CMD ["mailroom", "serve"]
