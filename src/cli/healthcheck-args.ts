/**
 * The command line of the health check script (`node dist/src/healthcheck.js [--ready]`). Its exit
 * codes are Docker's: 0 healthy, 1 unhealthy; 2 is reserved by Docker, so a usage error exits 1.
 */

/** `liveness` (the default): the gateway answers. `readiness` (`--ready`): Corporal can also do its job. */
export type HealthcheckMode = 'liveness' | 'readiness';

/** Parsed command line of the health check. */
export interface HealthcheckArgs {
  mode: HealthcheckMode;
  help: boolean;
}

/** Result of {@link parseHealthcheckArgs}: the arguments, or a usage error to report (exit 1). */
export type ParseHealthcheckArgsResult = { ok: true; args: HealthcheckArgs } | { ok: false; error: string };

/** The text printed by `--help`. */
export const HEALTHCHECK_USAGE = `Usage: node dist/src/healthcheck.js [--ready]

Checks the Corporal configured in $CORPORAL_CONFIG (default /etc/matrix-corporal/config.json).
Exit 0 when it passes, 1 when not; one line of output says why.

  (no option)  liveness: the gateway answers GET /_matrix/client/corporal with 200
  --ready      readiness: also the HTTP API's GET /_matrix/corporal/status reports a policy
               loaded, every gateway thread alive and the reconciler ready (needs HttpApi.Enabled)
  --help       show this help
`;

/** Parses argv (without `node` and the script): `--ready` and `--help`/`-h`, one or two dashes; anything else is an error. */
export function parseHealthcheckArgs(argv: readonly string[]): ParseHealthcheckArgsResult {
  const args: HealthcheckArgs = { mode: 'liveness', help: false };
  for (const token of argv) {
    if (token === '--ready' || token === '-ready') args.mode = 'readiness';
    else if (token === '--help' || token === '-help' || token === '-h') args.help = true;
    else return { ok: false, error: `unknown argument ${JSON.stringify(token)} (usage: healthcheck.js [--ready])` };
  }
  return { ok: true, args };
}
