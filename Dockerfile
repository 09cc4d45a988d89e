# Lifeboat container image. The image runs the bundle that `npm run build` makes with esbuild
# (dist/: Lifeboat and its dependencies in a few files, quicker to start than ~230 modules), so it
# carries neither the sources nor node_modules. Config and keys are mounted, never baked in:
#   /etc/lifeboat/lifeboat.yaml    the config (api.listen must be 0.0.0.0:9464 to be scraped)
#   /etc/lifeboat/keys/            age identity and recipients, signing key (a Secret)
# Restores, drills and `pg_dump` need the PostgreSQL client tools at least as new as every server:
# this image carries the newest major from the PostgreSQL project's own Debian repository.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG PG_MAJOR=17

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY bin ./bin
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ARG PG_MAJOR
# tini: PID 1 that forwards SIGTERM (graceful shutdown) and reaps dump children.
# GNU tar and zstd: files snapshots and the stock-tools restore path. MariaDB client: mysql jobs.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg tini tar zstd mariadb-client; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    apt-get purge -y curl gnupg; \
    apt-get autoremove -y; \
    rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist

# A fixed unprivileged user; the mounted keys must be readable by uid 10001.
RUN useradd --system --uid 10001 --home-dir /var/lib/lifeboat --create-home lifeboat
USER 10001:10001

# One malloc arena: a backup's peak memory drops by about a fifth, and a daemon keeps less of what
# its restores freed; malloc's heap on transparent huge pages: fewer page faults (see bin/lifeboat).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=1 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    NODE_COMPILE_CACHE=/var/lib/lifeboat/.compile-cache

VOLUME ["/etc/lifeboat", "/var/lib/lifeboat"]
EXPOSE 9464

# /healthz answers without a token unless api.openMetrics is false.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The V8 flag bin/lifeboat's first line gives (why: there); node ignores that line when it is named.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=64", "/app/bin/lifeboat"]
CMD ["daemon", "-c", "/etc/lifeboat/lifeboat.yaml"]
