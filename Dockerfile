# syntax=docker/dockerfile:1
# nexy-server container image: `docker build -t nexy-server .` (deploy/docker-compose.yml builds it).
# Not built on the development machine (no container runtime there): see README, Deployment.

# ---- build: dev dependencies, then src/ → dist/ (npm ci runs `prepare`) ---------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles itself when its prebuilt binary cannot be downloaded.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY src ./src
COPY tsconfig.json ./
RUN npm ci --no-audit --no-fund

# ---- runtime: production dependencies and the compiled code only, as a non-root user ----------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NEXY_SQLITE_PATH=/var/lib/nexy/nexy.sqlite \
    NEXY_DOWNLOADS_DIR=/var/lib/nexy/downloads \
    NEXY_HEALTHCHECK_URL=http://127.0.0.1:8080/ready
WORKDIR /app
# dist/ first: `npm ci --omit=dev` runs `prepare` too, which keeps an existing dist/ when esbuild
# (a dev dependency) is absent. better-sqlite3 fetches its prebuilt binary, or compiles itself with
# tools that leave in the same layer.
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json ./
COPY scripts/build.mjs ./scripts/build.mjs
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
 && npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && apt-get purge -y python3 make g++ && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
COPY bin ./bin
COPY config ./config
RUN install -d -o node -g node /var/lib/nexy
USER node
VOLUME ["/var/lib/nexy"]
# gRPC (grpc.port) and HTTP (http.port): health, readiness, metrics, client updates.
EXPOSE 50051 8080
# Ready = a model configured, memory and Redis reachable, the speech engine warm (/ready is 503
# otherwise, e.g. while warming up or with no model key). The slim image has no curl: node asks.
# NEXY_HEALTHCHECK_URL follows http.port when a config moves it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.NEXY_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (drain, flush memory, exit 0); `docker stop -t 15`.
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=2", "bin/nexy.mjs", "serve"]
