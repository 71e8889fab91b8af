# syntax=docker/dockerfile:1
# conversation-sync: one image for both services.
#   api (default):  node dist/apps/api/main.js        (API_PORT, default 5001)
#   consumer:       node dist/apps/consumer/main.js   (CONSUMER_HTTP_PORT, default 5002)

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the service user can read but not modify them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 5001 5002
CMD ["node", "dist/apps/api/main.js"]
