# Corporal: build with TypeScript, run on Node 20 (glibc; the pinned uWebSockets.js native build
# needs glibc >= 2.27, so no Alpine/musl image).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY scripts ./scripts
RUN npx tsc -p tsconfig.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Outgoing TLS trusts the system CA store, as matrix-corporal's Alpine image did (Go reads
# /etc/ssl/certs/ca-certificates.crt and honours SSL_CERT_FILE / SSL_CERT_DIR). The slim image has no
# ca-certificates, and Node uses its own built-in Mozilla list unless started with --use-openssl-ca:
# then OpenSSL's default paths apply (Node's bundled OpenSSL: /etc/ssl/cert.pem and the hashed
# directory /etc/ssl/certs), and SSL_CERT_FILE / SSL_CERT_DIR replace them. SSL_CERT_FILE names
# Debian's bundle so that a bundle mounted over it is read, as Go read it; an operator's own
# SSL_CERT_FILE replaces it while /etc/ssl/certs still supplies the system roots (Go did the same).
# The /matrix-corporal wrapper passes the flag itself, so an operator's NODE_OPTIONS cannot drop it;
# NODE_OPTIONS covers `node …` commands run directly. NODE_EXTRA_CA_CERTS works in either case.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    NODE_OPTIONS=--use-openssl-ca
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY config ./config
# Drop-in for the matrix-corporal image: its binary lived at /matrix-corporal, and deployments
# (matrix-docker-ansible-deploy) run `/matrix-corporal -config=/etc/matrix-corporal/config.json`.
# The wrapper execs `node /app/dist/src/main.js "$@"`. chmod here: a checkout may lose the x bit.
COPY docker/matrix-corporal /matrix-corporal
RUN chmod 0755 /matrix-corporal
# matrix-corporal's image ran from /: relative paths in the config (PolicyProvider Path, CachePath)
# resolve as they did there.
WORKDIR /
# Runs as node (uid 1000) by default; `--user UID:GID` works too, as long as that user can read the
# mounted config (and policy) and write the directories of the CachePath files (docs/deployment.md).
USER node
EXPOSE 41080 41081
# Liveness: probes HttpGateway.ListenAddress from the config in $CORPORAL_CONFIG (default: the path
# in CMD); set CORPORAL_CONFIG when the command passes another -config. Readiness probes (Kubernetes,
# load balancers) run `healthcheck.js --ready` instead (docs/deployment.md §4).
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "/app/dist/src/healthcheck.js"]
# No ENTRYPOINT: a command given to `docker run` (or the playbook's) replaces CMD as a whole, so
# `/matrix-corporal -config=…`, `/matrix-corporal check -config=…` and `node …` all work as written.
CMD ["/matrix-corporal", "-config=/etc/matrix-corporal/config.json"]
