import { readFile } from 'node:fs/promises';
import type { CliArgs } from './args.js';
import { loadConfigFile } from '../common/config/index.js';
import { describeError, hasErrorCode } from '../common/errors.js';
import { compilePolicy } from '../policy/compile.js';
import { hashPolicy } from '../policy/hash.js';
import { formatIssue, type PolicyIssue } from '../policy/issues.js';
import { loadPolicyText } from '../policy/load.js';
import { formatPolicySummary, summarisePolicy } from '../policy/summary.js';
import { formatConfigIssues } from './config-errors.js';

/**
 * `corporal check [--policy FILE]`: load and validate the configuration and print a summary, or
 * every problem with its key path; then validate the policy — `FILE`, or the configured
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
  out.write(`  homeserver: ${config.Matrix.HomeserverDomainName} at ${config.Matrix.HomeserverApiEndpoint}\n`);
  out.write(`  corporal user: ${config.Corporal.UserID}\n`);
  out.write(`  gateway: ${config.HttpGateway.ListenAddress}, ${config.HttpGateway.Threads} thread(s)\n`);
  out.write(`  HTTP API: ${config.HttpApi.Enabled ? config.HttpApi.ListenAddress : 'disabled'}\n`);
  out.write(`  policy provider: ${config.PolicyProvider.Type}\n`);
  if (loaded.warnings.length > 0) out.write(`Warnings:\n${formatConfigIssues(loaded.warnings)}\n`);

  if (args.policyPath !== null) return checkPolicyFile(args.policyPath, config.Matrix.HomeserverDomainName, out, false);
  if (config.PolicyProvider.Type !== 'static_file') return 0;
  return checkPolicyFile(config.PolicyProvider['Path'] as string, config.Matrix.HomeserverDomainName, out, true);
}

/**
 * Validates one policy file. `mayBeAbsent`: the configured static_file policy may be deployed
 * separately, and `serve` runs without it until it appears, so its absence is a warning; a file
 * named with `--policy` must exist.
 */
async function checkPolicyFile(path: string, homeserverDomain: string, out: NodeJS.WritableStream, mayBeAbsent: boolean): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (mayBeAbsent && hasErrorCode(err, 'ENOENT')) {
      out.write(`Warning: policy ${path} (PolicyProvider.Path) does not exist; Corporal runs without a policy (answering 503) until it does.\n`);
      return 0;
    }
    out.write(`Policy ${path} cannot be read: ${describeError(err)}\n`);
    return 2;
  }
  const result = loadPolicyText(text, { homeserverDomain });
  if (!result.ok) {
    out.write(`Policy ${path} is invalid (${plural(result.errors.length, 'error')}):\n`);
    out.write(formatIssues(result.errors));
    if (result.warnings.length > 0) out.write(`Warnings:\n${formatIssues(result.warnings)}`);
    return 2;
  }
  const hash = hashPolicy(result.document);
  const snapshot = compilePolicy(result.document, { generation: 0, hash, loadedAt: Date.now(), source: `file:${path}` });
  out.write(`Policy ${path} is valid for ${homeserverDomain}.\n`);
  out.write(formatPolicySummary(summarisePolicy(snapshot)).map((line) => `  ${line}\n`).join(''));
  if (result.warnings.length > 0) out.write(`Warnings (${result.warnings.length}):\n${formatIssues(result.warnings)}`);
  return 0;
}

function formatIssues(issues: readonly PolicyIssue[]): string {
  return issues.map((issue) => `  ${formatIssue(issue)}\n`).join('');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
