import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CorporalError } from '../../src/common/errors.js';
import { findFreePort } from './free-port.js';
import { buildHomeserverConfig, buildLogConfig, toYaml } from './homeserver-config.js';
import { matrixRequest, registerUser } from './matrix-client.js';
import { provisionSynapse, type SynapseInstallation } from './provision-synapse.js';
import { tailLines } from './run-command.js';
import { onProcessExit } from './process-reaper.js';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';
import { generateSigningKey } from './signing-key.js';
import { spawnSynapse, type SynapseProcess } from './synapse-process.js';

/** Error code of every start-up failure. */
export const START_ERROR_CODE = 'CORP_ERR_TEST_SYNAPSE_START';

/** The database engines a test Synapse can run on. */
export type SynapseDatabase = 'sqlite' | 'postgres';

/** The environment variable that sets the default of {@link StartSynapseOptions.database} (`sqlite` or `postgres`). */
export const DATABASE_ENV = 'CORPORAL_TEST_SYNAPSE_DATABASE';

/** Options of {@link startSynapse}; all optional. */
export interface StartSynapseOptions {
  /**
   * `sqlite` (a file in the data dir) or `postgres` (a private cluster started for this Synapse
   * and stopped with it, see postgres-cluster.ts). Default: `$CORPORAL_TEST_SYNAPSE_DATABASE`, else `sqlite`.
   */
  database?: SynapseDatabase;
  /** `server_name`; default `localhost`. */
  serverName?: string;
  /** Load devture's shared-secret-auth module with this secret (`m.login.password` support on). */
  sharedSecretAuth?: { sharedSecret: string };
  /** `enable_registration` (open registration without verification); default false. */
  enableRegistration?: boolean;
  /** The listener's `x_forwarded`; default false. */
  xForwarded?: boolean;
  /** Also serve the client listener on a Unix socket in the data directory (see {@link SynapseHandle.socketPath}). */
  unixSocket?: boolean;
  /** Deep-merged over the generated configuration (objects merge, other values replace). */
  extraConfig?: Record<string, unknown>;
  /** Localpart of the admin user created at start; default `corporal`. */
  adminLocalpart?: string;
  /** Its password; default random. */
  adminPassword?: string;
  /** `registration_shared_secret`; default random. */
  registrationSharedSecret?: string;
  /** Limit for Synapse to answer `/versions`; default 60 s. */
  startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL in `stop()`; default 10 s. */
  stopGraceMs?: number;
  /** Keep the data directory after `stop()`; default true only when `CORPORAL_KEEP_SYNAPSE_DATA=1`. */
  keepDataDir?: boolean;
  /** An installation already provisioned; default: `provisionSynapse()`. */
  installation?: SynapseInstallation;
}

/** A running test homeserver and the admin user created on it. */
export interface SynapseHandle {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  baseUrl: string;
  /** The Unix socket of the same client listener, with `unixSocket`; else undefined. */
  socketPath?: string;
  serverName: string;
  port: number;
  /** The Synapse process id; also its process group id. */
  pid: number;
  /** Temp dir with homeserver.yaml, the SQLite database, the signing key and the log. */
  dataDir: string;
  /** The engine Synapse runs on. */
  database: SynapseDatabase;
  /** With `database: 'postgres'`, its cluster (to look at Synapse's tables); stopped by `stop()`. */
  postgres?: PostgresCluster;
  registrationSharedSecret: string;
  /** A server admin registered through shared-secret registration, with the token it got. */
  admin: { userId: string; password: string; accessToken: string };
  /** Synapse's log (its logging output plus its stdout/stderr). */
  logPath: string;
  /** Milliseconds from spawn until `/versions` answered 200. */
  startupMs: number;
  /** Stops Synapse (SIGTERM, then SIGKILL to its group), then its PostgreSQL cluster if any, and removes `dataDir`. Idempotent. */
  stop(): Promise<void>;
}

const MAX_PORT_ATTEMPTS = 3;
const POLL_INTERVAL_MS = 100;
const POLL_REQUEST_TIMEOUT_MS = 2_000;

/**
 * Starts a fresh Synapse for one test: provisions (or reuses) the pinned virtualenv, writes a
 * new data directory with its own `homeserver.yaml` (see homeserver-config.ts), starts Synapse on
 * a free loopback port, waits until `GET /_matrix/client/versions` answers 200, and registers the
 * admin user. Fails with a `CorporalError` ({@link START_ERROR_CODE}) that quotes the end of the
 * Synapse log; nothing is left running or on disk after a failure. Call `stop()` in `t.teardown`;
 * if a test process ends without it, the process reaper kills Synapse anyway.
 */
export async function startSynapse(options: StartSynapseOptions = {}): Promise<SynapseHandle> {
  const hs = await startSynapseWithoutAdmin(options);
  try {
    const adminPassword = options.adminPassword ?? randomSecret();
    const admin = await registerUser(hs, { localpart: options.adminLocalpart ?? 'corporal', password: adminPassword, admin: true });
    return { ...hs, admin: { userId: admin.userId, password: adminPassword, accessToken: admin.accessToken } };
  } catch (err) {
    await hs.stop();
    throw err;
  }
}

/** A running test homeserver with no user on it ({@link startSynapseWithoutAdmin}). */
export type BareSynapseHandle = Omit<SynapseHandle, 'admin'>;

/**
 * {@link startSynapse} without registering the admin user: for a homeserver whose shared-secret
 * registration is off (under MAS, say). `adminLocalpart` and `adminPassword` are ignored.
 */
export async function startSynapseWithoutAdmin(options: StartSynapseOptions = {}): Promise<BareSynapseHandle> {
  const database = options.database ?? defaultDatabase();
  const installation = options.installation ?? (await provisionSynapse({ postgres: database === 'postgres' }));
  const serverName = options.serverName ?? 'localhost';
  const registrationSharedSecret = options.registrationSharedSecret ?? randomSecret();
  const keepDataDir = options.keepDataDir ?? process.env['CORPORAL_KEEP_SYNAPSE_DATA'] === '1';
  const graceMs = options.stopGraceMs ?? 10_000;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'corporal-synapse-'));
  const logPath = join(dataDir, 'homeserver.log');
  const configPath = join(dataDir, 'homeserver.yaml');
  const logConfigPath = join(dataDir, 'log.config');
  const signingKeyPath = join(dataDir, `${serverName.replace(/[^A-Za-z0-9.-]/g, '_')}.signing.key`);
  const forgetDataDir = keepDataDir ? () => undefined : onProcessExit(() => rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 }));
  let synapse: SynapseProcess | undefined;
  let postgres: PostgresCluster | undefined;
  const cleanUp = async (): Promise<void> => {
    try {
      await synapse?.stop(graceMs);
    } finally {
      await postgres?.stop();
    }
    forgetDataDir();
    if (keepDataDir) process.stderr.write(`[start-synapse] kept ${dataDir}\n`);
    else await rm(dataDir, { recursive: true, force: true });
  };

  try {
    if (database === 'postgres') postgres = await startPostgresCluster({ keepDir: keepDataDir });
    await writeFile(signingKeyPath, generateSigningKey(), { mode: 0o600 });
    await writeFile(logConfigPath, toYaml(buildLogConfig(logPath)));
    const secrets = { registrationSharedSecret, macaroonSecretKey: randomSecret(), formSecret: randomSecret() };
    for (let attempt = 1; ; attempt++) {
      const port = await findFreePort();
      const config = buildHomeserverConfig({
        serverName,
        port,
        dataDir,
        logConfigPath,
        signingKeyPath,
        ...secrets,
        enableRegistration: options.enableRegistration ?? false,
        xForwarded: options.xForwarded ?? false,
        ...(options.unixSocket ? { unixSocketPath: join(dataDir, 'client.sock') } : {}),
        ...(options.sharedSecretAuth ? { sharedSecretAuth: options.sharedSecretAuth } : {}),
        ...(postgres ? { postgres } : {}),
        ...(options.extraConfig ? { extraConfig: options.extraConfig } : {}),
      });
      await writeFile(configPath, toYaml(config), { mode: 0o600 });
      const baseUrl = `http://127.0.0.1:${port}`;
      const logOffset = await stat(logPath).then((s) => s.size, () => 0);
      const spawnedAt = Date.now();
      synapse = spawnSynapse(installation.python, configPath, logPath, dataDir);
      const ready = await waitUntilReady(baseUrl, synapse, startTimeoutMs);
      if (ready) {
        const startupMs = Date.now() - spawnedAt;
        let stopped: Promise<void> | undefined;
        return {
          baseUrl,
          ...(options.unixSocket ? { socketPath: join(dataDir, 'client.sock') } : {}),
          serverName,
          port,
          pid: synapse.pid,
          dataDir,
          database,
          ...(postgres ? { postgres } : {}),
          registrationSharedSecret,
          logPath,
          startupMs,
          stop: () => (stopped ??= cleanUp()),
        };
      }
      const log = await readFile(logPath).then((b) => b.subarray(logOffset).toString('utf8'), () => '');
      const exit = synapse.exitStatus();
      if (exit !== undefined && /Address already in use/i.test(log) && attempt < MAX_PORT_ATTEMPTS) continue;
      const state = exit === undefined ? `still running after ${Math.round(startTimeoutMs / 1000)} s` : `exited with ${exit.signal ?? `code ${exit.code}`}`;
      throw new CorporalError(
        START_ERROR_CODE,
        `Synapse ${installation.synapseVersion} (${database === 'postgres' ? `PostgreSQL on port ${postgres?.port}` : 'SQLite'}) never answered GET ${baseUrl}/_matrix/client/versions: pid ${synapse.pid} ${state}. ` +
          `Its config was ${configPath} (set CORPORAL_KEEP_SYNAPSE_DATA=1 to keep ${dataDir}). Last lines of its log:\n${tailLines(log, 40)}`,
        { source: 'internal' },
      );
    }
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/** Polls `/versions` until 200 (true), or until Synapse exits or the time is up (false). */
async function waitUntilReady(baseUrl: string, synapse: SynapseProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && synapse.exitStatus() === undefined) {
    const status = await matrixRequest(baseUrl, 'GET', '/_matrix/client/versions', { timeoutMs: POLL_REQUEST_TIMEOUT_MS }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return true;
    await Promise.race([sleep(POLL_INTERVAL_MS), synapse.exited]);
  }
  return false;
}

/** `$CORPORAL_TEST_SYNAPSE_DATABASE`, else `sqlite`; any other value is refused (a typo must not silently test SQLite). */
function defaultDatabase(): SynapseDatabase {
  const value = process.env[DATABASE_ENV];
  if (value === undefined || value === '' || value === 'sqlite') return 'sqlite';
  if (value === 'postgres') return 'postgres';
  throw new CorporalError(START_ERROR_CODE, `${DATABASE_ENV} is "${value}"; it must be "sqlite" or "postgres"`, { source: 'internal' });
}

function randomSecret(): string {
  return randomBytes(24).toString('hex');
}
