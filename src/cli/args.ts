/** Commands the `corporal` CLI knows. */
export type CommandName = 'serve' | 'check' | 'plan';

/** Parsed command line. */
export interface CliArgs {
  command: CommandName;
  /** `--config`; matrix-corporal's default is `config.json` in the working directory. */
  configPath: string;
  /** `check`/`plan --policy FILE`: this policy file instead of the configured provider's. */
  policyPath: string | null;
  /** `plan --json`: print the dry run as JSON. */
  json: boolean;
  /** `plan --exit-code`: exit 3 when actions are pending (drift), 0 when none. */
  exitCode: boolean;
  help: boolean;
  version: boolean;
}

/** Result of {@link parseArgs}: the arguments, or a usage error to print (exit 2). */
export type ParseArgsResult = { ok: true; args: CliArgs } | { ok: false; error: string };

const COMMANDS: readonly CommandName[] = ['serve', 'check', 'plan'];
const VALUE_FLAGS = new Set(['config', 'policy']);
const BOOLEAN_FLAGS = new Set(['help', 'h', 'version', 'json', 'exit-code']);

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage: corporal [command] [options]

Commands:
  serve            run the gateway and the control plane (default)
  check            load the configuration (and policy), print a summary or every error
  plan             dry run: compare Synapse with the policy and print the pending actions
                   (changes no user, room or profile; without Corporal.AccessToken
                   it logs in as the admin and logs that device out at the end)

Options:
  --config PATH    configuration file (default: config.json); -config=PATH also works
  --policy FILE    check, plan: this policy file instead of the configured provider's
  --json           plan: print JSON instead of a table
  --exit-code      plan: exit 3 when actions are pending, 0 when none (warnings and
                   skipped rooms do not count); 1 and 2 still mean an error
  --help           show this help
  --version        print the version
`;

/**
 * Parses argv (without `node` and the script). Flags take one or two dashes (`-config=PATH` is
 * matrix-corporal's spelling) and `=value` or a separate value. Anything unknown is a usage error.
 */
export function parseArgs(argv: readonly string[]): ParseArgsResult {
  const args: CliArgs = { command: 'serve', configPath: 'config.json', policyPath: null, json: false, exitCode: false, help: false, version: false };
  let commandSeen = false;
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i]!;
    const flag = /^--?([a-zA-Z][a-zA-Z-]*)(?:=(.*))?$/s.exec(token);
    if (!flag) {
      if (!commandSeen && (COMMANDS as readonly string[]).includes(token)) {
        args.command = token as CommandName;
        commandSeen = true;
        continue;
      }
      return { ok: false, error: commandSeen ? `unexpected argument: ${token}` : `unknown command: ${token}` };
    }
    const name = flag[1]!;
    const inlineValue = flag[2];
    if (BOOLEAN_FLAGS.has(name)) {
      if (inlineValue !== undefined) return { ok: false, error: `${name === 'h' ? '-' : '--'}${name} takes no value` };
      if (name === 'help' || name === 'h') args.help = true;
      else if (name === 'json') args.json = true;
      else if (name === 'exit-code') args.exitCode = true;
      else args.version = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) return { ok: false, error: `unknown option: ${token}` };
    let value = inlineValue;
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) return { ok: false, error: `--${name} needs a value` };
      i += 1;
    }
    if (value === '') return { ok: false, error: `--${name} needs a value` };
    if (name === 'config') args.configPath = value;
    else args.policyPath = value;
  }
  if (args.policyPath !== null && args.command === 'serve') return { ok: false, error: '--policy only applies to check and plan' };
  if (args.json && args.command !== 'plan') return { ok: false, error: '--json only applies to plan' };
  if (args.exitCode && args.command !== 'plan') return { ok: false, error: '--exit-code only applies to plan' };
  return { ok: true, args };
}
