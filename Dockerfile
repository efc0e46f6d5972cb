# syntax=docker/dockerfile:1
# One image for every service: the gateway, the relocator and the one-shot setup step differ
# only by their command, which is the npm script the tests exercise run by Node 24 LTS itself:
# its type stripping loads the TypeScript sources (erasableSyntaxOnly keeps them strippable), so
# the services need no loader. tsx stays installed for the npm scripts (the operator CLIs), which
# also serve Node 20 (no type stripping) on developer machines; CI tests on 20 and 24.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/gateway/package.json apps/gateway/
COPY apps/relocator/package.json apps/relocator/
COPY packages/contract/package.json packages/contract/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/runtime/package.json packages/runtime/
COPY packages/tiering/package.json packages/tiering/
RUN npm ci --no-audit --no-fund

FROM deps AS check
COPY . .
RUN npm run typecheck

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/gateway/package.json apps/gateway/
COPY apps/relocator/package.json apps/relocator/
COPY packages/contract/package.json packages/contract/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/runtime/package.json packages/runtime/
COPY packages/tiering/package.json packages/tiering/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=check /app/apps ./apps
COPY --from=check /app/packages ./packages
COPY --from=check /app/scripts ./scripts
# Tier directories live on a shared volume mounted here; the image owns it so the volume
# starts out writable by the non-root user.
RUN mkdir -p /data && chown node:node /data
USER node
ENV DATA_DIR=/data
EXPOSE 3000 9464
# `npm run start:gateway` without npm in between (signals) and without tsx (Node 24 strips types).
CMD ["node", "apps/gateway/src/main.ts"]
