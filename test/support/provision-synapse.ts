import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CorporalError } from '../../src/common/errors.js';
import { withFileLock } from './file-lock.js';
import { moduleArgsDyingWithParent } from './python-bootstrap.js';
import { describeExit, runCommand, tailLines, type RunCommandResult } from './run-command.js';

/** The Synapse release every integration test runs against (pinned; see ARCHITECTURE.md §7). */
export const SYNAPSE_VERSION = '1.163.2';
/** devture's shared-secret-auth module, installed beside Synapse for compatibility-mode tests. */
export const SHARED_SECRET_AUTHENTICATOR_VERSION = '2.0.1';
/**
 * psycopg2, Synapse's PostgreSQL driver, for the tests that run Synapse on PostgreSQL
 * (postgres-cluster.ts). The `-binary` distribution bundles libpq, so nothing is compiled; 2.9.13 is
 * the newest release with a cp311 manylinux wheel (checked on PyPI on 2026-11-28), pinned exactly
 * like Synapse so that every run tests the same driver.
 */
export const PSYCOPG2_BINARY_VERSION = '2.9.13';
/** Error code of every provisioning failure. */
export const PROVISION_ERROR_CODE = 'CORP_ERR_TEST_SYNAPSE_PROVISION';

/** A ready virtualenv holding the pinned Synapse, shared-secret-authenticator and psycopg2-binary. */
export interface SynapseInstallation {
  /** The virtualenv directory (outside git, in the user's cache). */
  venvDir: string;
  /** The virtualenv's interpreter; run Synapse as `<python> -m synapse.app.homeserver`. */
  python: string;
  /** `major.minor.micro` of that interpreter. */
  pythonVersion: string;
  synapseVersion: string;
  sharedSecretAuthenticatorVersion: string;
  /** Null when psycopg2-binary was not asked for and the cached virtualenv lacks it (see {@link ProvisionOptions.postgres}). */
  psycopg2BinaryVersion: string | null;
  /** True when this call installed the virtualenv; false when it reused a complete one. */
  installed: boolean;
  /** Wall time of this call, lock waiting included. */
  durationMs: number;
}

/** Options of {@link provisionSynapse}; every field has a default from the environment. */
export interface ProvisionOptions {
  /** Cache root. Default `$CORPORAL_SYNAPSE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/corporal`. */
  cacheDir?: string;
  /** Base interpreter that creates the virtualenv. Default `$CORPORAL_PYTHON`, else `python3`. */
  python?: string;
  /** Limit for `pip install` (default 20 min: a cold install downloads ~100 MB of wheels). */
  installTimeoutMs?: number;
  /** Progress lines (default: stderr). Only shown when something slow happens (install, waiting). */
  log?: (line: string) => void;
  /**
   * Whether psycopg2-binary must be there (Synapse on PostgreSQL; default false). A new virtualenv
   * always gets it; a cached one that lacks it gets it added only when asked, so that a machine
   * without PyPI still runs the SQLite tests on a virtualenv made before the driver was pinned.
   */
  postgres?: boolean;
}

const MARKER_FILE = '.corporal-provisioned.json';
const PYTHON_PROBE_TIMEOUT_MS = 30_000;
const VENV_TIMEOUT_MS = 120_000;
const VERIFY_TIMEOUT_MS = 120_000;
const DEFAULT_INSTALL_TIMEOUT_MS = 20 * 60_000;
const MIN_PYTHON: readonly [number, number] = [3, 10];

interface Marker {
  synapse: string;
  sharedSecretAuthenticator: string;
  /** Absent in virtualenvs made before PostgreSQL support; such a virtualenv gets it added. */
  psycopg2Binary?: string;
  python: string;
}

/**
 * What a cached virtualenv lacks: nothing, only psycopg2-binary (made before it was pinned, or
 * pinned to another version: installed on top, Synapse is not reinstalled), or anything else
 * (made again from scratch).
 */
type VenvState = 'complete' | 'psycopg2-missing' | 'incomplete';

/**
 * Makes sure the pinned Synapse is installed in a cached virtualenv keyed by Synapse version and
 * Python `major.minor`, and returns where it is. The first call installs it (minutes); later calls
 * find the completion marker and only check that the interpreter still imports the pinned
 * versions (well under a second). Safe to call from many processes at once: installation happens
 * under an exclusive lock file, the marker is written last, and a virtualenv without the marker
 * (an install that died half-way) is deleted and made again.
 *
 * Throws a `CorporalError` (code {@link PROVISION_ERROR_CODE}) that says which step failed, quotes
 * its output and says how to fix it. It never falls back to skipping.
 */
export async function provisionSynapse(options: ProvisionOptions = {}): Promise<SynapseInstallation> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => process.stderr.write(`[provision-synapse] ${line}\n`));
  const basePython = options.python ?? process.env['CORPORAL_PYTHON'] ?? 'python3';
  const pythonVersion = await probeBasePython(basePython);
  const [major, minor] = pythonVersion.split('.');
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const venvDir = join(cacheDir, `synapse-${SYNAPSE_VERSION}-py${major}.${minor}`);
  const expected: Required<Marker> = {
    synapse: SYNAPSE_VERSION,
    sharedSecretAuthenticator: SHARED_SECRET_AUTHENTICATOR_VERSION,
    psycopg2Binary: PSYCOPG2_BINARY_VERSION,
    python: pythonVersion,
  };
  const done = (installed: boolean, withPsycopg2 = true): SynapseInstallation => ({
    venvDir,
    python: venvPython(venvDir),
    pythonVersion,
    synapseVersion: SYNAPSE_VERSION,
    sharedSecretAuthenticatorVersion: SHARED_SECRET_AUTHENTICATOR_VERSION,
    psycopg2BinaryVersion: withPsycopg2 ? PSYCOPG2_BINARY_VERSION : null,
    installed,
    durationMs: Date.now() - started,
  });

  const usable = (state: VenvState): boolean => state === 'complete' || (state === 'psycopg2-missing' && options.postgres !== true);
  const state = await venvState(venvDir, expected);
  if (usable(state)) return done(false, state === 'complete');

  try {
    await mkdir(cacheDir, { recursive: true });
  } catch (err) {
    throw provisionError(`cannot create the cache directory ${cacheDir} (${(err as Error).message})`, 'Set CORPORAL_SYNAPSE_CACHE to a writable directory.');
  }
  const installTimeoutMs = options.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS;
  const lockOptions = {
    timeoutMs: installTimeoutMs + VENV_TIMEOUT_MS + VERIFY_TIMEOUT_MS,
    onWait: (holder: { pid: number }) => log(`waiting for pid ${holder.pid}, which is installing ${venvDir}`),
  };
  let installed = false;
  let withPsycopg2 = true;
  try {
    await withFileLock(`${venvDir}.lock`, lockOptions, async () => {
      const locked = await venvState(venvDir, expected);
      if (usable(locked)) {
        withPsycopg2 = locked === 'complete';
        return;
      }
      if (locked === 'psycopg2-missing') await addPsycopg2(venvDir, expected, installTimeoutMs, log);
      else await install(basePython, venvDir, expected, installTimeoutMs, log);
      installed = true;
    });
  } catch (err) {
    if ((err as CorporalError).code === PROVISION_ERROR_CODE) throw err;
    throw provisionError(`could not take the install lock (${(err as Error).message})`, 'See the message above.', err);
  }
  return done(installed, withPsycopg2);
}

/** `$CORPORAL_SYNAPSE_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/corporal`. */
export function defaultCacheDir(): string {
  const explicit = process.env['CORPORAL_SYNAPSE_CACHE'];
  if (explicit) return explicit;
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'corporal');
}

function venvPython(venvDir: string): string {
  return join(venvDir, 'bin', 'python');
}

async function probeBasePython(python: string): Promise<string> {
  const fix = 'Install Python 3.10 or newer with its venv module (Debian: apt-get install python3 python3-venv), or set CORPORAL_PYTHON to such an interpreter.';
  let result: RunCommandResult;
  try {
    result = await runCommand(python, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { timeoutMs: PYTHON_PROBE_TIMEOUT_MS });
  } catch (err) {
    throw provisionError(`the Python interpreter \`${python}\` cannot be started (${(err as Error).message})`, fix, err);
  }
  const version = result.output.trim();
  if (result.exitCode !== 0 || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw provisionError(`${describeExit(result)} while asking for its version`, fix, undefined, result.output);
  }
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major !== 3 || minor < MIN_PYTHON[1]) {
    throw provisionError(`\`${python}\` is Python ${version}; Synapse ${SYNAPSE_VERSION} needs >= ${MIN_PYTHON.join('.')} and < 4`, fix);
  }
  return version;
}

/** How far the virtualenv is from `expected`: its marker and what its interpreter really imports. */
async function venvState(venvDir: string, expected: Required<Marker>): Promise<VenvState> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(venvDir, MARKER_FILE), 'utf8')) as Marker;
  } catch {
    return 'incomplete';
  }
  if (marker.synapse !== expected.synapse || marker.sharedSecretAuthenticator !== expected.sharedSecretAuthenticator || marker.python !== expected.python) {
    return 'incomplete';
  }
  const installed = await installedVersions(venvDir).catch(() => null);
  if (installed === null || installed.synapse !== expected.synapse || installed.sharedSecretAuthenticator !== expected.sharedSecretAuthenticator || installed.python !== expected.python) {
    return 'incomplete';
  }
  return marker.psycopg2Binary === expected.psycopg2Binary && installed.psycopg2Binary === expected.psycopg2Binary ? 'complete' : 'psycopg2-missing';
}

/** The versions the virtualenv's interpreter reports (a distribution not installed is null); null if it cannot tell. */
async function installedVersions(venvDir: string): Promise<Record<keyof Marker, string | null> | null> {
  const script = [
    'import importlib.metadata as m, json, sys',
    'def v(name):',
    '    try: return m.version(name)',
    '    except m.PackageNotFoundError: return None',
    'print(json.dumps({"synapse": v("matrix-synapse"), "sharedSecretAuthenticator": v("shared-secret-authenticator"),',
    '  "psycopg2Binary": v("psycopg2-binary"), "python": "%d.%d.%d" % sys.version_info[:3]}))',
  ].join('\n');
  const result = await runCommand(venvPython(venvDir), ['-c', script], { timeoutMs: PYTHON_PROBE_TIMEOUT_MS });
  if (result.exitCode !== 0) return null;
  try {
    return JSON.parse(result.output) as Record<keyof Marker, string | null>;
  } catch {
    return null;
  }
}

/** Throws unless the virtualenv reports exactly `expected`, then writes the marker (last, atomically). */
async function confirmAndMark(venvDir: string, expected: Required<Marker>): Promise<void> {
  const installed = await installedVersions(venvDir);
  const wanted = { synapse: expected.synapse, sharedSecretAuthenticator: expected.sharedSecretAuthenticator, psycopg2Binary: expected.psycopg2Binary, python: expected.python };
  if (JSON.stringify(installed) !== JSON.stringify(wanted)) {
    throw provisionError(`the virtualenv reports ${JSON.stringify(installed)} instead of ${JSON.stringify(wanted)}`, `Delete ${venvDir} and run again.`);
  }
  // The marker's presence means the virtualenv is complete.
  const markerPath = join(venvDir, MARKER_FILE);
  await writeFile(`${markerPath}.tmp`, JSON.stringify({ ...expected, installedAt: new Date().toISOString() }), 'utf8');
  await rename(`${markerPath}.tmp`, markerPath);
}

/**
 * Runs one install step and appends its output to the install log; throws a provisioning error
 * that quotes the output when it fails. Module steps (`-m x`) run under the bootstrap so that an
 * orphaned pip cannot keep writing into a virtualenv that the next lock holder is removing; they
 * are shown as the plain `-m` command.
 */
async function runStep(installLog: string, transcript: string[], step: { what: string; fix: string; file: string; args: string[]; timeoutMs: number }): Promise<void> {
  const { what, fix, file, args, timeoutMs } = step;
  let result: RunCommandResult;
  try {
    const isModule = args[0] === '-m' && args[1] !== undefined;
    result = await runCommand(file, isModule ? moduleArgsDyingWithParent(args[1]!, args.slice(2)) : args, {
      timeoutMs,
      env: { ...process.env, PIP_NO_INPUT: '1' },
      displayAs: [file, ...args].join(' '),
    });
  } catch (err) {
    throw provisionError(`${what}: ${(err as Error).message}`, fix, err);
  }
  transcript.push(`$ ${result.command}\n${result.output}`);
  await writeFile(installLog, transcript.join('\n'), 'utf8');
  if (result.exitCode !== 0) throw provisionError(`${what}: ${describeExit(result)} (full output: ${installLog})`, fix, undefined, result.output);
}

const PIP_INSTALL = ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--progress-bar', 'off'];

function pipFix(pythonVersion: string, nextRun: string): string {
  return `Check that PyPI is reachable from this machine (pip's index and proxy settings) and that wheels for Python ${pythonVersion} exist. ${nextRun}`;
}

/** Importing the entry points catches broken native dependencies now rather than at first start. */
function importStep(venvDir: string, modules: string): { what: string; fix: string; file: string; args: string[]; timeoutMs: number } {
  return {
    what: `the installed ${modules} does not import`,
    fix: 'A native dependency is probably missing for this platform; read the output below.',
    file: venvPython(venvDir),
    args: ['-c', `import ${modules}`],
    timeoutMs: VERIFY_TIMEOUT_MS,
  };
}

/** Adds the pinned psycopg2-binary to a virtualenv that is complete otherwise, without touching Synapse. */
async function addPsycopg2(venvDir: string, expected: Required<Marker>, installTimeoutMs: number, log: (line: string) => void): Promise<void> {
  log(`adding psycopg2-binary==${expected.psycopg2Binary} to ${venvDir}`);
  const installLog = `${venvDir}.install.log`;
  const transcript = [await readFile(installLog, 'utf8').catch(() => '')];
  await runStep(installLog, transcript, {
    what: 'pip install psycopg2-binary failed',
    fix: pipFix(expected.python, 'The next run tries again.'),
    file: venvPython(venvDir),
    args: [...PIP_INSTALL, `psycopg2-binary==${expected.psycopg2Binary}`],
    timeoutMs: installTimeoutMs,
  });
  await runStep(installLog, transcript, importStep(venvDir, 'psycopg2'));
  await confirmAndMark(venvDir, expected);
  log(`added psycopg2-binary to ${venvDir}`);
}

async function install(basePython: string, venvDir: string, expected: Required<Marker>, installTimeoutMs: number, log: (line: string) => void): Promise<void> {
  const installLog = `${venvDir}.install.log`;
  if (await exists(venvDir)) {
    log(`removing incomplete virtualenv ${venvDir}`);
    await rm(venvDir, { recursive: true, force: true });
  }
  const pins = [`matrix-synapse==${SYNAPSE_VERSION}`, `shared-secret-authenticator==${SHARED_SECRET_AUTHENTICATOR_VERSION}`, `psycopg2-binary==${expected.psycopg2Binary}`];
  log(`installing ${pins.join(', ')} into ${venvDir} (first run only; takes a few minutes)`);
  const transcript: string[] = [];
  await runStep(installLog, transcript, {
    what: 'creating the virtualenv failed',
    fix: 'Install the venv module for this Python (Debian: apt-get install python3-venv), or set CORPORAL_PYTHON to another interpreter.',
    file: basePython,
    args: ['-m', 'venv', venvDir],
    timeoutMs: VENV_TIMEOUT_MS,
  });
  await runStep(installLog, transcript, { what: 'pip install failed', fix: pipFix(expected.python, 'The half-made virtualenv is removed and reinstalled on the next run.'), file: venvPython(venvDir), args: [...PIP_INSTALL, ...pins], timeoutMs: installTimeoutMs });
  await runStep(installLog, transcript, importStep(venvDir, 'synapse.app.homeserver, shared_secret_authenticator, psycopg2'));
  await confirmAndMark(venvDir, expected);
  log(`installed in ${venvDir}`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

function provisionError(what: string, fix: string, cause?: unknown, output?: string): CorporalError {
  const tail = output ? `\n--- last lines of output ---\n${tailLines(output, 25)}` : '';
  return new CorporalError(PROVISION_ERROR_CODE, `Provisioning Synapse ${SYNAPSE_VERSION} for the tests failed: ${what}. Fix: ${fix}${tail}`, {
    source: 'internal',
    cause,
  });
}
