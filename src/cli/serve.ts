import type { CliArgs } from './args.js';
import { loadConfigFile } from '../common/config/index.js';
import { createLogger, logLevelOf } from '../common/logger.js';
import { describeError } from '../common/errors.js';
import { loadUws } from '../gateway/uws.js';
import { Supervisor, stopOnSignals } from '../supervisor/supervisor.js';
import { formatConfigIssues, logConfigWarnings } from './config-errors.js';

/**
 * `corporal serve`: load the configuration, refuse to start on the uWS fallback unless allowed,
 * start the supervisor and run until SIGTERM/SIGINT/SIGHUP. Resolves with the exit code when
 * start-up fails (an invalid config, a listen address already in use, …); otherwise the process
 * exits from the signal handler.
 */
export async function runServe(args: CliArgs): Promise<number> {
  const loaded = await loadConfigFile(args.configPath);
  if (!loaded.ok) {
    process.stderr.write(`corporal: invalid configuration ${args.configPath}:\n${formatConfigIssues(loaded.errors)}\n`);
    // The warnings too: an unknown (misspelt) key is often why a required one is missing.
    if (loaded.warnings.length > 0) process.stderr.write(`Warnings:\n${formatConfigIssues(loaded.warnings)}\n`);
    return 2;
  }
  const { config } = loaded;
  const logger = createLogger({ level: logLevelOf(config.Misc), component: 'supervisor' });
  logConfigWarnings(logger, loaded.warnings);

  try {
    loadUws(config.HttpGateway.AllowUwsFallback);
  } catch (err) {
    logger.fatal(describeError(err));
    return 1;
  }

  const supervisor = new Supervisor({ config, configPath: args.configPath, logger });
  stopOnSignals(supervisor, logger);
  try {
    await supervisor.start();
  } catch (err) {
    // A signal during start-up: the stop it began (and the signal handler's exit) wins; the
    // start's failure is only the drain it ran into, not a start-up error.
    if (supervisor.stopRequested) return -1;
    logger.fatal({ err: describeError(err) }, 'start-up failed');
    await supervisor.stop();
    return 1;
  }
  return -1;
}
