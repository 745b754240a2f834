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
/** Error code of every provisioning failure. */
export const PROVISION_ERROR_CODE = 'CORP_ERR_TEST_SYNAPSE_PROVISION';

/** A ready virtualenv holding the pinned Synapse and shared-secret-authenticator. */
export interface SynapseInstallation {
  /** The virtualenv directory (outside git, in the user's cache). */
  venvDir: string;
  /** The virtualenv's interpreter; run Synapse as `<python> -m synapse.app.homeserver`. */
  python: string;
  /** `major.minor.micro` of that interpreter. */
  pythonVersion: string;
  synapseVersion: string;
  sharedSecretAuthenticatorVersion: string;
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
  python: string;
}

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
  const expected: Marker = { synapse: SYNAPSE_VERSION, sharedSecretAuthenticator: SHARED_SECRET_AUTHENTICATOR_VERSION, python: pythonVersion };
  const done = (installed: boolean): SynapseInstallation => ({
    venvDir,
    python: venvPython(venvDir),
    pythonVersion,
    synapseVersion: SYNAPSE_VERSION,
    sharedSecretAuthenticatorVersion: SHARED_SECRET_AUTHENTICATOR_VERSION,
    installed,
    durationMs: Date.now() - started,
  });

  if (await isComplete(venvDir, expected)) return done(false);

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
  try {
    await withFileLock(`${venvDir}.lock`, lockOptions, async () => {
      if (await isComplete(venvDir, expected)) return;
      await install(basePython, venvDir, expected, installTimeoutMs, log);
      installed = true;
    });
  } catch (err) {
    if ((err as CorporalError).code === PROVISION_ERROR_CODE) throw err;
    throw provisionError(`could not take the install lock (${(err as Error).message})`, 'See the message above.', err);
  }
  return done(installed);
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

/** True when the marker matches and the interpreter really imports the pinned distributions. */
async function isComplete(venvDir: string, expected: Marker): Promise<boolean> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(venvDir, MARKER_FILE), 'utf8')) as Marker;
  } catch {
    return false;
  }
  if (marker.synapse !== expected.synapse || marker.sharedSecretAuthenticator !== expected.sharedSecretAuthenticator || marker.python !== expected.python) {
    return false;
  }
  const result = await installedVersions(venvDir).catch(() => null);
  return result !== null && result.exitCode === 0 && result.output.trim() === expectedVersionsLine(expected);
}

function installedVersions(venvDir: string): Promise<RunCommandResult> {
  const script = [
    'import importlib.metadata as m, sys',
    'print(m.version("matrix-synapse"), m.version("shared-secret-authenticator"), "%d.%d.%d" % sys.version_info[:3])',
  ].join('\n');
  return runCommand(venvPython(venvDir), ['-c', script], { timeoutMs: PYTHON_PROBE_TIMEOUT_MS });
}

function expectedVersionsLine(expected: Marker): string {
  return `${expected.synapse} ${expected.sharedSecretAuthenticator} ${expected.python}`;
}

async function install(basePython: string, venvDir: string, expected: Marker, installTimeoutMs: number, log: (line: string) => void): Promise<void> {
  const installLog = `${venvDir}.install.log`;
  if (await exists(venvDir)) {
    log(`removing incomplete virtualenv ${venvDir}`);
    await rm(venvDir, { recursive: true, force: true });
  }
  log(`installing matrix-synapse==${SYNAPSE_VERSION} and shared-secret-authenticator==${SHARED_SECRET_AUTHENTICATOR_VERSION} into ${venvDir} (first run only; takes a few minutes)`);
  const transcript: string[] = [];
  const step = async (what: string, fix: string, file: string, args: string[], timeoutMs: number): Promise<void> => {
    let result: RunCommandResult;
    try {
      // Long steps run under the bootstrap so that an orphaned pip cannot keep writing into a
      // virtualenv that the next lock holder is removing; shown as the plain `-m` command.
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
  };

  await step('creating the virtualenv failed', 'Install the venv module for this Python (Debian: apt-get install python3-venv), or set CORPORAL_PYTHON to another interpreter.', basePython, ['-m', 'venv', venvDir], VENV_TIMEOUT_MS);
  await step(
    'pip install failed',
    `Check that PyPI is reachable from this machine (pip's index and proxy settings) and that wheels for Python ${expected.python} exist. The half-made virtualenv is removed and reinstalled on the next run.`,
    venvPython(venvDir),
    ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--progress-bar', 'off', `matrix-synapse==${SYNAPSE_VERSION}`, `shared-secret-authenticator==${SHARED_SECRET_AUTHENTICATOR_VERSION}`],
    installTimeoutMs,
  );
  // Importing the entry points catches broken native dependencies now rather than at first start.
  await step(
    'the installed Synapse does not import',
    'A native dependency is probably missing for this platform; read the output below.',
    venvPython(venvDir),
    ['-c', 'import synapse.app.homeserver, shared_secret_authenticator'],
    VERIFY_TIMEOUT_MS,
  );
  const versions = await installedVersions(venvDir);
  if (versions.exitCode !== 0 || versions.output.trim() !== expectedVersionsLine(expected)) {
    throw provisionError(`the virtualenv reports "${versions.output.trim()}" instead of "${expectedVersionsLine(expected)}"`, `Delete ${venvDir} and run again.`);
  }
  // The marker is written last, atomically: its presence means the virtualenv is complete.
  const markerPath = join(venvDir, MARKER_FILE);
  await writeFile(`${markerPath}.tmp`, JSON.stringify({ ...expected, installedAt: new Date().toISOString() }), 'utf8');
  await rename(`${markerPath}.tmp`, markerPath);
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
