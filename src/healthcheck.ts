#!/usr/bin/env node
/**
 * Container health check entry point (the Dockerfile's HEALTHCHECK): exit 0 when the gateway
 * configured in `$CORPORAL_CONFIG` (default /etc/matrix-corporal/config.json) answers its info
 * route, else 1. See src/cli/healthcheck.ts.
 */
import { runHealthcheck } from './cli/healthcheck.js';

runHealthcheck({ env: process.env, fetch: globalThis.fetch, out: (line) => process.stdout.write(`${line}\n`) }).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
