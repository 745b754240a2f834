import { accessSync, constants, statSync } from 'node:fs';
import type { CliArgs } from './args.js';
import type { CorporalConfig, PolicyProviderConfig } from '../common/config/types.js';
import { CACHE_PATH_KEY, cacheDirectoryProblem } from '../control/providers/cache-directory.js';
import { loadConfigFile } from '../common/config/index.js';
import { withoutUserInfo } from '../common/http-url.js';
import { formatPolicySummary, summarisePolicy } from '../policy/summary.js';
import { formatConfigIssues } from './config-errors.js';
import { configuredPolicyFile, readPolicyFile } from './policy-file.js';
import { formatIssues, plural } from './report-text.js';

/**
 * `corporal check [--policy FILE]`: load and validate the configuration and print a summary (with
 * the trusted proxies, and a warning when the homeserver socket is missing, not a socket or not
 * writable by this user), or every problem with its key path; then validate the policy — `FILE`,
 * or without `--policy` the configured provider's file, the one `plan` reads (static_file `Path`,
 * http/last_seen `CachePath`) — against the configured homeserver domain and
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
  out.write(await cacheDirectoryWarning(config.PolicyProvider));
  if (loaded.warnings.length > 0) out.write(`Warnings:\n${formatConfigIssues(loaded.warnings)}\n`);

  if (args.policyPath !== null) return checkPolicyFile(args.policyPath, config, out, null);
  // The same file `plan` reads: static_file's Path, or the http/last_seen CachePath copy.
  const configured = configuredPolicyFile(config.PolicyProvider);
  if ('error' in configured) {
    out.write(`Note: ${configured.error}\n`);
    return 0;
  }
  return checkPolicyFile(configured.path, config, out, configured.key);
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

/**
 * A warning line when the provider has a `CachePath` (http, last_seen_store_policy) whose directory
 * is missing or not writable by this user, else `''`. A warning, as for the socket: `check` may run
 * as another user or on another host, and `serve` starts anyway (and logs an error).
 */
async function cacheDirectoryWarning(provider: PolicyProviderConfig): Promise<string> {
  const cachePath = provider['CachePath'];
  if (provider.Type === 'static_file' || typeof cachePath !== 'string' || cachePath === '') return '';
  const problem = await cacheDirectoryProblem(cachePath);
  return problem === null ? '' : `  Warning: ${cachePath} (${CACHE_PATH_KEY}): ${problem}; the policy cannot be saved there\n`;
}

/** What `serve` does while the configured policy file is absent, by provider type. */
function absenceEffect(type: string): string {
  if (type === 'http') return 'the http provider starts from the remote policy alone (no cached copy to fall back on yet).';
  if (type === 'static_file') return 'Corporal runs without a policy (answering 503) until it does.';
  return 'Corporal runs without a policy (answering 503) until one is pushed.';
}

/** `HttpGateway.TrustedProxies` in words: whose `X-Forwarded-For` the gateway believes. */
function describeTrustedProxies(list: readonly string[] | null): string {
  if (list === null) return 'loopback, private and link-local networks (default)';
  if (list.length === 0) return 'none (every peer is the client)';
  return list.join(', ');
}

/**
 * Validates one policy file. `configuredAs`: the configuration key naming the file, or null for
 * a file named with `--policy`, which must exist. A configured file may be absent — a static_file
 * policy deployed separately, a cache not written yet — and `serve` runs without it (the http
 * provider fetches the remote policy), so its absence is a warning.
 */
async function checkPolicyFile(path: string, config: CorporalConfig, out: NodeJS.WritableStream, configuredAs: string | null): Promise<number> {
  const homeserverDomain = config.Matrix.HomeserverDomainName;
  const result = await readPolicyFile(path, homeserverDomain, config.Corporal.UserID);
  switch (result.kind) {
    case 'missing':
    case 'unreadable':
      if (result.kind === 'missing' && configuredAs !== null) {
        out.write(`Warning: policy ${path} (${configuredAs}) does not exist; ${absenceEffect(config.PolicyProvider.Type)}\n`);
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
