import type { CliArgs } from './args.js';
import { loadConfigFile } from '../common/config/index.js';
import { formatConfigIssues } from './config-errors.js';

/**
 * `corporal check`: load and validate the configuration and print a summary, or every problem
 * with its key path. Returns the exit code (0 valid, 2 invalid).
 */
export async function runCheck(args: CliArgs, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const loaded = await loadConfigFile(args.configPath);
  if (!loaded.ok) {
    out.write(`Configuration ${args.configPath} is invalid (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}):\n`);
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
  return 0;
}
