# The service image. Configured only by environment variables (see README "Configuration");
# it needs DATABASE_URL (the embedded Postgres is a development dependency, not in the image).
# .dockerignore keeps .data (local key and database) and host node_modules out of the context.
# test/system/production-image.system-spec.ts runs this build stage's RUN steps and starts the result.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx nest build
# Runtime dependencies only. typeorm declares ts-node as an optional peer, so npm keeps ts-node
# and typescript (flagged devOptional in the lock) after --omit=dev; the app never loads them.
RUN npm prune --omit=dev --no-audit --no-fund && node -e "const fs=require('fs');for(const [p,v] of Object.entries(require('./package-lock.json').packages))if(v.devOptional)fs.rmSync(p,{recursive:true,force:true})"

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# Migrations alone (then exit): node dist/src/database/migrate.js — the Helm chart's
# pre-install/pre-upgrade Job (deploy/helm/embed-idp) runs it in this image.
CMD ["node", "dist/src/main.js"]
