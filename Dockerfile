# syntax=docker/dockerfile:1
# The `fleet` binary in a slim Debian runtime (deploy/README.md, "Image").
#
#   docker build -t workerfleet/fleet:TAG .                    workers, scheduler, outbox relay, migrations
#   docker build --target ops -t workerfleet/fleet-ops:TAG .   the same plus pg_dump/pg_restore (ops worker)
#
# No container engine runs on the project's machines: this file is linted with hadolint by
# scripts/deploy-check.sh, never built there.

# Both bases pinned; pin them by digest too (FROM swift:6.3.1-bookworm@sha256:...) for a build that
# cannot change under you.
ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Build: a release `fleet` with the Swift runtime and Foundation linked in statically
# (--static-swift-stdlib), so the runtime image needs no Swift toolchain, and each function in a
# section of its own (-function-sections), so that the link places the functions workers run
# together, in the order of bench/order/fleet.order (Package.swift). The same flags as
# scripts/lib/release-build.sh, which the benchmark builds with.
FROM ${SWIFT_IMAGE} AS build
# The headers of the four C libraries the fleet wraps (Package.swift's system-library targets) and
# zlib. Debian's versions follow the pinned base image; they are not pinned one by one, so a rebuild
# picks up Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        librabbitmq-dev libpq-dev libmongoc-dev libbson-dev libhiredis-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY bench/order/fleet.order bench/order/fleet.lds ./bench/order/
COPY Sources ./Sources
COPY Tests ./Tests
# The build folder is a BuildKit cache: rebuilds reuse compiled dependencies.
# The link does not track the order files: the cached executable is removed so that it is linked again.
RUN --mount=type=cache,target=/src/.build \
    rm -f .build/*/release/fleet \
    && swift build -c release --product fleet --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections \
    && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/fleet" /out/fleet

# Runtime: the C libraries' runtime packages, zlib, CA certificates (TLS to the stores and the
# broker) and time zones (schedules.yaml's IANA zones); nothing else.
FROM ${RUNTIME_IMAGE} AS base
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        librabbitmq4 libpq5 libmongoc-1.0-0 libbson-1.0-0 libhiredis0.14 zlib1g ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 fleet \
    && useradd --system --uid 10001 --gid fleet --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin fleet
COPY --from=build /out/fleet /usr/local/bin/fleet
# The repository's configuration as a default; Kubernetes mounts the ConfigMap over /etc/fleet.
COPY queues.yaml schedules.yaml /etc/fleet/
COPY workers /etc/fleet/workers
# Numeric, so `runAsNonRoot` can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /etc/fleet
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/fleet"]
CMD ["--help"]

# The ops worker: backup.run and backup.verify of PostgreSQL run pg_dump and pg_restore (README,
# "Backups and restores"), which come with Debian's PostgreSQL 15 client.
FROM base AS ops
USER 0
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001

# The default target (`docker build .`): the plain runtime.
FROM base AS runtime
