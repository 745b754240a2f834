import type { CliArgs } from './args.js';
import { loadConfigFile } from '../common/config/index.js';
import type { CorporalConfig } from '../common/config/types.js';
import { describeError, hasErrorCode } from '../common/errors.js';
import { dryRunReport, formatDryRunReport } from '../control/dry-run-report.js';
import { observe } from '../control/observe/observe.js';
import { planReconciliation } from '../control/plan/index.js';
import { ADMIN_SESSION_ERROR, AdminSession, PLAN_DEVICE_ID } from '../control/synapse/admin-session.js';
import { SynapseHttp } from '../control/synapse/synapse-http.js';
import { accountDataUnfinishedLocks } from '../control/loop/unfinished-locks-store.js';
import type { PolicySnapshot } from '../policy/snapshot.js';
import type { Logger } from '../common/logger.js';
import { formatConfigIssues } from './config-errors.js';
import { configuredPolicyFile, readPolicyFile } from './policy-file.js';
import { formatIssues, plural } from './report-text.js';
import { createWarningLogger } from './warning-logger.js';
import { withoutUserInfo } from '../common/http-url.js';

/** Output streams of {@link runPlan}. */
export interface PlanStreams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * `corporal plan [--policy FILE] [--json] [--exit-code]`: a dry run against the configured
 * Synapse. Loads the configuration and a policy — `FILE`, or the configured provider's file
 * (static_file `Path`, or the http/last_seen `CachePath`) without starting any provider — observes
 * Synapse as the reconciler does and prints the pending actions (a table, or JSON) with secrets
 * redacted. Changes nothing on Synapse: it only logs in as `Corporal.UserID` (or uses
 * `Corporal.AccessToken`), never registers it or lifts its rate limits, and logs out at the end.
 *
 * Exit code: 0 planned; 2 invalid configuration or policy; 1 Synapse could not be observed. With
 * `--exit-code`, a plan holding at least one action exits 3 instead of 0 (the homeserver differs
 * from the policy); warnings and skipped rooms do not count, as they persist across passes. The
 * output is the same either way.
 */
export async function runPlan(args: CliArgs, streams: PlanStreams = { out: process.stdout, err: process.stderr }): Promise<number> {
  const { out, err } = streams;
  const loaded = await loadConfigFile(args.configPath);
  if (!loaded.ok) {
    err.write(`corporal: invalid configuration ${args.configPath} (${plural(loaded.errors.length, 'error')}):\n${formatConfigIssues(loaded.errors)}\n`);
    return 2;
  }
  const { config } = loaded;
  // Computed once and used for every print: a password written in the endpoint must never reach
  // plan output, which ends up in tickets and CI logs.
  const endpoint = withoutUserInfo(config.Matrix.HomeserverApiEndpoint);
  const file = args.policyPath === null ? configuredPolicyFile(config.PolicyProvider) : { path: args.policyPath };
  if ('error' in file) {
    err.write(`corporal: ${file.error}\n`);
    return 2;
  }
  const policy = await readPolicyFile(file.path, config.Matrix.HomeserverDomainName, config.Corporal.UserID);
  switch (policy.kind) {
    case 'missing':
    case 'unreadable':
      err.write(`corporal: policy ${file.path} cannot be read: ${policy.message}\n`);
      return 2;
    case 'invalid':
      err.write(`corporal: policy ${file.path} is invalid (${plural(policy.errorCount, 'error')}):\n${formatIssues(policy.errors)}`);
      return 2;
    case 'valid':
      break;
  }

  let report;
  try {
    report = await dryRun(config, policy.snapshot, err);
  } catch (failure) {
    err.write(`corporal: cannot plan against ${endpoint}: ${describeError(failure)}\n`);
    if (hasErrorCode(failure, ADMIN_SESSION_ERROR)) {
      err.write('(plan logs in as Corporal.UserID with its derived password, or uses Corporal.AccessToken; unlike serve it never registers that user)\n');
    }
    return 1;
  }
  const { snapshot } = policy;
  if (args.json) {
    out.write(`${JSON.stringify({ policy: { path: file.path, hash: snapshot.hash, users: snapshot.users.size }, homeserver: endpoint, ...report }, null, 2)}\n`);
  } else {
    out.write(`Plan for policy ${file.path} (${plural(snapshot.users.size, 'user')}, hash ${snapshot.hash.slice(0, 12)}) against ${endpoint}\n`);
    out.write(formatDryRunReport(report).map((line) => `${line}\n`).join(''));
  }
  return args.exitCode && report.actions.length > 0 ? 3 : 0;
}

/**
 * The users whose lock by `corporal serve` left work undone, as its loop records them (its
 * `user.finish_lock` for them is then part of the plan); none, with a warning, when the record
 * cannot be read. Only read: a dry run changes nothing.
 */
async function recordedUnfinishedLocks(http: SynapseHttp, session: AdminSession, corporalUserId: string, logger: Logger): Promise<Set<string>> {
  try {
    return new Set((await accountDataUnfinishedLocks(http, session, corporalUserId).load()).keys());
  } catch (failure) {
    logger.warn({ err: describeError(failure) }, 'cannot read the record of unfinished locks; the plan has no user.finish_lock');
    return new Set();
  }
}

/**
 * Opens an admin session, observes, plans; closes everything whatever happens. Warnings logged on
 * the way (a failed logout of plan's own admin device) are printed on `err`.
 */
async function dryRun(config: CorporalConfig, snapshot: PolicySnapshot, err: NodeJS.WritableStream) {
  const { Matrix, Corporal, Reconciliation } = config;
  const logger = createWarningLogger(err);
  const http = new SynapseHttp({
    baseUrl: Matrix.HomeserverApiEndpoint,
    socketPath: Matrix.HomeserverApiSocketPath,
    timeoutMs: Matrix.TimeoutMilliseconds,
    connections: Reconciliation.Concurrency,
    logger,
  });
  const session = new AdminSession({
    http,
    userId: Corporal.UserID,
    accessToken: Corporal.AccessToken,
    authSharedSecret: Matrix.AuthSharedSecret,
    // A dry run changes nothing: no registration of a missing admin, no rate-limit override.
    registrationSharedSecret: '',
    neverRegister: true,
    liftRateLimits: false,
    deviceId: PLAN_DEVICE_ID,
    logger,
  });
  try {
    await session.start();
    const observation = await observe(snapshot, { http, admin: session, authSharedSecret: Matrix.AuthSharedSecret, concurrency: Reconciliation.Concurrency });
    const plan = planReconciliation(observation.state, snapshot, {
      deactivatedDisplayNameMarker: Reconciliation.DeactivatedDisplayNameMarker,
      authSharedSecret: Matrix.AuthSharedSecret,
      corporalUserId: Corporal.UserID,
      locksUnfinished: await recordedUnfinishedLocks(http, session, Corporal.UserID, logger),
    });
    return dryRunReport({ ...plan, generation: null, usersObserved: observation.usersObserved, requests: observation.requests });
  } finally {
    await session.stop();
    await http.close();
  }
}
