# One multi-stage image recipe for every service in services/ (SERVICE=order|inventory|payment|
# payment-provider-simulator). Built from the repository root so workspace libraries resolve.
#   docker build --build-arg SERVICE=order -t platform/order .
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY infra/package.json infra/
COPY libs libs
COPY services services
COPY e2e/package.json e2e/
COPY infra/src infra/src
COPY infra/tsconfig.json infra/
COPY e2e/src e2e/src
COPY e2e/tsconfig.json e2e/
RUN npm ci --no-audit --no-fund
RUN npx tsc -b

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production HOST=0.0.0.0
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/infra/package.json infra/
COPY --from=build /src/e2e/package.json e2e/
COPY --from=build /src/libs libs
COPY --from=build /src/services/${SERVICE} services/${SERVICE}
# Production dependencies of this service and the libraries it uses, nothing else.
RUN for d in libs/* services/*; do test -f "$d/package.json" || rm -rf "$d"; done \
 && npm ci --omit=dev --no-audit --no-fund --workspace "services/${SERVICE}" --include-workspace-root=false \
 && npm cache clean --force \
 && find libs services -name '*.spec.*' -delete \
 && rm -rf libs/*/src services/*/src
USER node
WORKDIR /app/services/${SERVICE}
CMD ["node", "--enable-source-maps", "dist/main.js"]
