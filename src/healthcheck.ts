#!/usr/bin/env node
/**
 * Container health check entry point (the Dockerfile's HEALTHCHECK): exit 0 when the Corporal
 * configured in `$CORPORAL_CONFIG` (default /etc/matrix-corporal/config.json) passes the check,
 * else 1. Without options, liveness (the gateway answers its info route); with `--ready`,
 * readiness (also policy, gateway threads and reconciler per the HTTP API's status). See
 * src/cli/healthcheck.ts and src/cli/healthcheck-args.ts.
 */
import { HEALTHCHECK_USAGE, parseHealthcheckArgs, type HealthcheckMode } from './cli/healthcheck-args.js';
import { runHealthcheck, verdictWord } from './cli/healthcheck.js';

const out = (line: string): void => { process.stdout.write(`${line}\n`); };
const parsed = parseHealthcheckArgs(process.argv.slice(2));
// A usage error is still reported in the words of the mode asked for.
const mode: HealthcheckMode = parsed.ok ? parsed.args.mode : process.argv.includes('--ready') ? 'readiness' : 'liveness';

if (!parsed.ok) {
  out(`${verdictWord(mode, false)}: ${parsed.error}`);
  process.exitCode = 1;
} else if (parsed.args.help) {
  process.stdout.write(HEALTHCHECK_USAGE);
} else {
  runHealthcheck({ env: process.env, fetch: globalThis.fetch, out }, mode).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      out(`${verdictWord(mode, false)}: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
