import { accessSync, constants, statSync } from 'node:fs';
import type { CliArgs } from './args.js';
import type { CorporalConfig } from '../common/config/types.js';
import { loadConfigFile } from '../common/config/index.js';
import { withoutUserInfo } from '../common/http-url.js';
import { formatPolicySummary, summarisePolicy } from '../policy/summary.js';
import { formatConfigIssues } from './config-errors.js';
import { formatIssues, plural, readPolicyFile } from './policy-file.js';

/**
 * `corporal check [--policy FILE]`: load and validate the configuration and print a summary (with
 * the trusted proxies, and a warning when the homeserver socket is missing, not a socket or not
 * writable by this user), or every problem with its key path; then validate the policy — `FILE`, or the configured
 * `static_file` policy when there is no `--policy` — against the configured homeserver domain and
 * print its summary, or every error with its JSON pointer (and line:column for syntax errors).
 * Returns the exit code: 0 when everything is valid, 2 otherwise.
 */
export async function runCheck(args: CliArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const loaded = await loadConfigFile(args.configPath);
  if (!loaded.ok) {
    out.write(`Configuration ${args.configPath} is invalid (${plural(loaded.errors.length, 'error')}):\n`);
    out.write(`${formatConfigIssues(loaded.errors)}\n`);
    if (loaded.warnings.length > 0) out.write(`Warnings:\n${formatConfigIssues(loaded.warnings)}\n`);
    return 2;
  }
  const { config } = loaded;
  out.write(`Configuration ${args.configPath} is valid.\n`);
  const socket = config.Matrix.HomeserverApiSocketPath;
  out.write(`  homeserver: ${config.Matrix.HomeserverDomainName} at ${withoutUserInfo(config.Matrix.HomeserverApiEndpoint)}${socket === '' ? '' : ` over the Unix socket ${socket}`}\n`);
  if (socket !== '') out.write(socketWarning(socket));
  out.write(`  corporal user: ${config.Corporal.UserID}\n`);
  out.write(`  gateway: ${config.HttpGateway.ListenAddress}, ${config.HttpGateway.Threads} thread(s)\n`);
  out.write(`  trusted proxies (X-Forwarded-For): ${describeTrustedProxies(config.HttpGateway.TrustedProxies)}\n`);
  out.write(`  HTTP API: ${config.HttpApi.Enabled ? config.HttpApi.ListenAddress : 'disabled'}\n`);
  out.write(`  policy provider: ${config.PolicyProvider.Type}\n`);
  if (loaded.warnings.length > 0) out.write(`Warnings:\n${formatConfigIssues(loaded.warnings)}\n`);

  if (args.policyPath !== null) return checkPolicyFile(args.policyPath, config, out, false);
  if (config.PolicyProvider.Type !== 'static_file') return 0;
  return checkPolicyFile(config.PolicyProvider['Path'] as string, config, out, true);
}

/**
 * A warning line when the configured Unix socket is missing or is not a socket, else `''`. A
 * warning, not an error: Synapse may simply not be running yet where `check` runs.
 */
function socketWarning(socketPath: string): string {
  const key = `${socketPath} (Matrix.HomeserverApiSocketPath)`;
  let stats;
  try {
    stats = statSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `  Warning: ${key} does not exist here; is Synapse running, with a listener on that path?\n`;
    return `  Warning: ${key} cannot be inspected: ${(err as Error).message}\n`;
  }
  if (!stats.isSocket()) return `  Warning: ${key} is not a Unix socket\n`;
  try {
    // Connecting to a Unix socket needs write permission on it: the file mode is the access control.
    accessSync(socketPath, constants.W_OK);
  } catch {
    return `  Warning: ${key}: this user may not connect to it (no write permission)\n`;
  }
  return '';
}

/** `HttpGateway.TrustedProxies` in words: whose `X-Forwarded-For` the gateway believes. */
function describeTrustedProxies(list: readonly string[] | null): string {
  if (list === null) return 'loopback, private and link-local networks (default)';
  if (list.length === 0) return 'none (every peer is the client)';
  return list.join(', ');
}

/**
 * Validates one policy file. `mayBeAbsent`: the configured static_file policy may be deployed
 * separately, and `serve` runs without it until it appears, so its absence is a warning; a file
 * named with `--policy` must exist.
 */
async function checkPolicyFile(path: string, config: CorporalConfig, out: NodeJS.WritableStream, mayBeAbsent: boolean): Promise<number> {
  const homeserverDomain = config.Matrix.HomeserverDomainName;
  const result = await readPolicyFile(path, homeserverDomain, config.Corporal.UserID);
  switch (result.kind) {
    case 'missing':
    case 'unreadable':
      if (result.kind === 'missing' && mayBeAbsent) {
        out.write(`Warning: policy ${path} (PolicyProvider.Path) does not exist; Corporal runs without a policy (answering 503) until it does.\n`);
        return 0;
      }
      out.write(`Policy ${path} cannot be read: ${result.message}\n`);
      return 2;
    case 'invalid':
      out.write(`Policy ${path} is invalid (${plural(result.errorCount, 'error')}):\n`);
      out.write(formatIssues(result.errors));
      if (result.warnings.length > 0) out.write(`Warnings:\n${formatIssues(result.warnings)}`);
      return 2;
    case 'valid':
      out.write(`Policy ${path} is valid for ${homeserverDomain}.\n`);
      out.write(formatPolicySummary(summarisePolicy(result.snapshot)).map((line) => `  ${line}\n`).join(''));
      if (result.warnings.length > 0) out.write(`Warnings (${result.warnings.length}):\n${formatIssues(result.warnings)}`);
      return 0;
  }
}
