import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { access, constants, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CorporalError } from '../../src/common/errors.js';
import { findFreePort } from './free-port.js';
import { onProcessExit } from './process-reaper.js';
import { describeExit, runCommand, tailLines, type RunCommandResult } from './run-command.js';
import { within } from '../../src/common/within.js';

/**
 * A private, throw-away PostgreSQL cluster for one test Synapse: `initdb` into a fresh temp dir,
 * the postmaster on 127.0.0.1:<free port> with its Unix socket in the same dir, durability off
 * (`fsync=off`: nothing here survives the test anyway), and one database made the way Synapse
 * requires (UTF8, C collation, from template0).
 *
 * PostgreSQL refuses to run as root, so as root every PostgreSQL program runs as the `postgres`
 * account (`runuser`; the temp dir is handed to it first), otherwise as the current user.
 *
 * The postmaster is spawned directly rather than by `pg_ctl start`, which would daemonise it out
 * of reach: like Synapse (synapse-process.ts) it is this process's child, the process reaper sends
 * it SIGQUIT (PostgreSQL's immediate shutdown, which takes every backend with it) if the test
 * process ends without stopping it, and `setpriv --pdeathsig QUIT` has the kernel do the same if
 * the test process is SIGKILLed. Readiness is read from `postmaster.pid`, as `pg_ctl start -w`
 * does; `stop()` is `pg_ctl stop -m fast`.
 */

/** Error code of every failure to start, use or stop a cluster. */
export const POSTGRES_ERROR_CODE = 'CORP_ERR_TEST_POSTGRES';

/** The role `initdb` creates as the cluster's superuser; Synapse connects as it (trust auth, loopback only). */
export const POSTGRES_ROLE = 'corporal';

/** Options of {@link startPostgresCluster}; all optional. */
export interface PostgresClusterOptions {
  /** The database created for Synapse; default `synapse`. */
  database?: string;
  /** Limit for `initdb`, for the postmaster to report ready, and for creating the database (each); default 60 s. */
  startTimeoutMs?: number;
  /** Limit for `pg_ctl stop -m fast` before the postmaster is SIGKILLed; default 30 s. */
  stopTimeoutMs?: number;
  /** Keep the cluster's directory after `stop()`; default false. */
  keepDir?: boolean;
}

/** A running cluster; connect as {@link POSTGRES_ROLE} over TCP (`host`, `port`) or the Unix socket in `socketDir`. */
export interface PostgresCluster {
  host: '127.0.0.1';
  port: number;
  /** Directory of the Unix socket (`.s.PGSQL.<port>`); also the cluster's temp dir. */
  socketDir: string;
  user: typeof POSTGRES_ROLE;
  /** The database created for Synapse. */
  database: string;
  /** The data directory (`initdb -D`). */
  dataDir: string;
  /** The postmaster's output (its log). */
  logPath: string;
  /** The postmaster's process id. */
  pid: number;
  /** `SELECT`s through `psql -At` in {@link PostgresCluster.database}; resolves with its output (rows by line, columns by `|`). */
  query(sql: string): Promise<string>;
  /** Stops the cluster (`pg_ctl stop -m fast`, SIGKILL if that fails) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const MAX_PORT_ATTEMPTS = 3;
const SHORT_STEP_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 50;
const CLUSTER_OWNER = 'postgres';

/**
 * Starts a private PostgreSQL cluster and creates a database for Synapse in it; see the module
 * comment. Throws a `CorporalError` ({@link POSTGRES_ERROR_CODE}) naming the step that failed and
 * quoting its output; nothing is left running or on disk after a failure. Call `stop()` when done.
 */
export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const database = options.database ?? 'synapse';
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const asRoot = process.getuid?.() === 0;
  const bin = await postgresBinaries(asRoot);
  const dir = await mkdtemp(join(tmpdir(), 'corporal-postgres-'));
  const dataDir = join(dir, 'data');
  const logPath = join(dir, 'postgres.log');
  const forgetDir = options.keepDir ? () => undefined : onProcessExit(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  /** Runs a PostgreSQL program as the cluster's owner; throws with its output unless it exits 0. */
  const run = async (what: string, program: string, args: string[], timeoutMs: number): Promise<RunCommandResult> => {
    const [file, argv] = asRoot ? ['runuser', ['-u', CLUSTER_OWNER, '--', bin(program), ...args]] : [bin(program), args];
    const result = await runCommand(file, argv, { timeoutMs, cwd: dir, env: { ...process.env, LC_ALL: 'C' } }).catch((err: Error) => {
      throw postgresError(`${what}: ${err.message}`, INSTALL_FIX, err);
    });
    if (result.exitCode !== 0) throw postgresError(`${what}: ${describeExit(result)}`, 'Read the output below.', undefined, result.output);
    return result;
  };
  let postmaster: Postmaster | undefined;
  const cleanUp = async (): Promise<void> => {
    if (postmaster !== undefined && postmaster.exitStatus() === undefined) {
      const stopped = await run('pg_ctl stop failed', 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', String(Math.ceil(stopTimeoutMs / 1000))], stopTimeoutMs + 5_000).then(
        () => within(postmaster!.exited.then(() => true), stopTimeoutMs),
        () => false,
      );
      if (!stopped) postmaster.kill('SIGKILL');
      await within(postmaster.exited, stopTimeoutMs);
    }
    forgetDir();
    if (options.keepDir) process.stderr.write(`[postgres-cluster] kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    if (asRoot) {
      // initdb refuses root and wants to own what it creates: hand the temp dir to the account.
      const chown = await runCommand('chown', [`${CLUSTER_OWNER}:`, dir], { timeoutMs: SHORT_STEP_TIMEOUT_MS });
      if (chown.exitCode !== 0) {
        throw postgresError(`${describeExit(chown)}`, `Running as root, PostgreSQL runs as the \`${CLUSTER_OWNER}\` account; create it (Debian: installed with the postgresql package).`, undefined, chown.output);
      }
    }
    await run('initdb failed', 'initdb', ['-D', dataDir, '-A', 'trust', '-U', POSTGRES_ROLE, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], startTimeoutMs);
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort();
      const logOffset = await readFile(logPath).then((b) => b.length, () => 0);
      postmaster = spawnPostmaster(bin('postgres'), asRoot, dataDir, logPath, [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', `port=${port}`,
        '-c', `unix_socket_directories=${dir}`,
        '-c', 'fsync=off',
        '-c', 'max_connections=100',
      ]);
      if (await waitUntilReady(dataDir, postmaster, startTimeoutMs)) {
        const psql = (sql: string, db: string, timeoutMs: number): Promise<string> =>
          run(`psql failed on \`${sql.slice(0, 80)}\``, 'psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', POSTGRES_ROLE, '-d', db, '-c', sql], timeoutMs).then((r) => r.output.trimEnd());
        await psql(`CREATE DATABASE "${database}" ENCODING 'UTF8' LC_COLLATE='C' LC_CTYPE='C' TEMPLATE template0`, 'postgres', startTimeoutMs);
        let stopped: Promise<void> | undefined;
        return {
          host: '127.0.0.1',
          port,
          socketDir: dir,
          user: POSTGRES_ROLE,
          database,
          dataDir,
          logPath,
          pid: postmaster.pid,
          query: (sql) => psql(sql, database, SHORT_STEP_TIMEOUT_MS),
          stop: () => (stopped ??= cleanUp()),
        };
      }
      const log = await readFile(logPath).then((b) => b.subarray(logOffset).toString('utf8'), () => '');
      const exit = postmaster.exitStatus();
      if (exit !== undefined && /Address already in use/i.test(log) && attempt < MAX_PORT_ATTEMPTS) continue;
      const state = exit === undefined ? `is not ready after ${Math.round(startTimeoutMs / 1000)} s` : `has exited with ${exit.signal ?? `code ${exit.code}`}`;
      throw postgresError(`the postmaster (pid ${postmaster.pid}) ${state}`, 'Read its log below.', undefined, log);
    }
  } catch (err) {
    // The failure to report is the first one: one in cleaning up must not hide it.
    await cleanUp().catch(() => undefined);
    throw err;
  }
}

const INSTALL_FIX =
  'Install the PostgreSQL server binaries (initdb, postgres, pg_ctl, psql; Debian: apt-get install postgresql-15) and put their directory in PATH, have `pg_config --bindir` name it, or set CORPORAL_POSTGRES_BIN to it.';

/** The programs a cluster needs, in PostgreSQL's bin directory. */
const PROGRAMS = ['initdb', 'postgres', 'pg_ctl', 'psql'] as const;
/** From util-linux: running the programs as the cluster's owner when root, and the parent-death signal. */
const UTIL_LINUX_PROGRAMS = ['runuser', 'setpriv'] as const;

/**
 * Where the PostgreSQL programs are: `$CORPORAL_POSTGRES_BIN`, else `pg_config --bindir` when
 * `initdb` is there (with only the client package, it names a directory without the server), else
 * the first PATH directory holding `initdb`. Throws before anything is created when a program is
 * missing there, or when a util-linux program the cluster needs is not in PATH, naming the fix.
 */
async function postgresBinaries(asRoot: boolean): Promise<(program: string) => string> {
  const path = (process.env['PATH'] ?? '').split(':').filter((dir) => dir !== '');
  let dir = process.env['CORPORAL_POSTGRES_BIN'];
  if (!dir) {
    const pgConfig = await runCommand('pg_config', ['--bindir'], { timeoutMs: SHORT_STEP_TIMEOUT_MS }).catch(() => null);
    const named = pgConfig?.exitCode === 0 ? pgConfig.output.trim() : '';
    const candidates = named === '' ? path : [named, ...path];
    for (const candidate of candidates) {
      if (await isExecutable(join(candidate, 'initdb'))) {
        dir = candidate;
        break;
      }
    }
  }
  const missing: string[] = [];
  for (const program of PROGRAMS) if (dir === undefined || !(await isExecutable(join(dir, program)))) missing.push(program);
  if (missing.length > 0) throw postgresError(`${missing.join(', ')} not found ${dir === undefined ? 'in PATH' : `in ${dir}`}`, INSTALL_FIX);
  const utilLinux = asRoot ? UTIL_LINUX_PROGRAMS : (['setpriv'] as const);
  for (const program of utilLinux) {
    if (!(await someExecutable(path.map((pathDir) => join(pathDir, program))))) {
      throw postgresError(`\`${program}\` not found in PATH`, 'Install util-linux (2.33 or newer: setpriv --pdeathsig); the cluster runs under it.');
    }
  }
  const binDir = dir!;
  return (program) => join(binDir, program);
}

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(() => true, () => false);
}

async function someExecutable(files: readonly string[]): Promise<boolean> {
  for (const file of files) if (await isExecutable(file)) return true;
  return false;
}

interface Postmaster {
  pid: number;
  exited: Promise<void>;
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Spawns `postgres -D <dataDir> …` (as the cluster's owner when running as root) with its output
 * appended to `logPath`, tied to this process's life (see the module comment). From the main thread:
 * the parent-death signal fires when the spawning thread ends.
 */
function spawnPostmaster(postgres: string, asRoot: boolean, dataDir: string, logPath: string, settings: string[]): Postmaster {
  const owner = asRoot ? [`--reuid=${CLUSTER_OWNER}`, `--regid=${CLUSTER_OWNER}`, '--init-groups'] : [];
  const logFd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn('setpriv', ['--pdeathsig', 'QUIT', ...owner, '--', postgres, '-D', dataDir, ...settings], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, LC_ALL: 'C' },
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    child.once('error', () => undefined); // reported below
    throw postgresError(`cannot start \`setpriv … ${postgres}\``, `${INSTALL_FIX} \`setpriv\` comes with util-linux.`);
  }
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const kill = (signal: NodeJS.Signals): void => {
    if (status !== undefined) return;
    try {
      process.kill(pid, signal);
    } catch (err) {
      // Exited, but its 'exit' event has not been delivered yet.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  // Immediate shutdown: the postmaster kills every backend, then exits.
  const forget = onProcessExit(() => kill('SIGQUIT'));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      forget();
      resolve();
    });
  });
  child.unref();
  return { pid, exited, exitStatus: () => status, kill };
}

/**
 * True once `postmaster.pid` names this postmaster and says `ready` (what `pg_ctl start -w` waits
 * for); false if it exits first or the time is up.
 */
async function waitUntilReady(dataDir: string, postmaster: Postmaster, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && postmaster.exitStatus() === undefined) {
    const lines = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').then((text) => text.split('\n'), () => []);
    if (lines[0]?.trim() === String(postmaster.pid) && lines[7]?.trim() === 'ready') return true;
    await Promise.race([sleep(READY_POLL_MS), postmaster.exited]);
  }
  return false;
}

function postgresError(what: string, fix: string, cause?: unknown, output?: string): CorporalError {
  const tail = output ? `\n--- last lines of output ---\n${tailLines(output, 25)}` : '';
  return new CorporalError(POSTGRES_ERROR_CODE, `The test PostgreSQL cluster failed: ${what}. Fix: ${fix}${tail}`, { source: 'internal', cause });
}
