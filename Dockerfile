# course-etl scheduler image (Node 22 LTS). Build: docker build -t course-etl .
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY jobs ./jobs
# The etldata volume is mounted here; named volumes inherit this ownership.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
ENTRYPOINT ["node", "--enable-source-maps", "bin/course-etl.js"]
CMD ["schedule"]
