# syntax=docker/dockerfile:1
# Patchbay on Node 24 LTS. Build: docker build -t patchbay .   Run: see docker-compose.yml.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# git for workspaces; bubblewrap for the agent's sandbox; slirp4netns, iproute2 and util-linux's
# unshare give setup commands the internet without the host's own services; tini reaps the sandbox's
# processes and forwards SIGTERM.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git bubblewrap slirp4netns iproute2 util-linux ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 patchbay \
 && mkdir -p /var/lib/patchbay && chown patchbay:patchbay /var/lib/patchbay
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json patchbay.example.yml ./
ENV NODE_ENV=production \
    PATCHBAY_DATA_DIR=/var/lib/patchbay \
    PATCHBAY_CONFIG=/etc/patchbay/patchbay.yml \
    PORT=3000
USER patchbay
VOLUME ["/var/lib/patchbay"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli.js"]
CMD ["start"]
