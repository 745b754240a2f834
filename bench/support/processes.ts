import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from './free-port.js';

const FAKE_HOMESERVER = fileURLToPath(new URL('../fake-homeserver.js', import.meta.url));
const HOOK_SERVICE = fileURLToPath(new URL('../hook-service.js', import.meta.url));
const FLOOR_PROXY = fileURLToPath(new URL('../floor-proxy.js', import.meta.url));
const CORPORAL = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/**
 * The bench policy: the benchmark user (`@bench:localhost`, whoami's answer for every token) is
 * managed and must be in `!bench:localhost`, so that policy-checked scenarios (send-1k) take the
 * managed-user path of their check.
 */
export const BENCH_POLICY = {
  schemaVersion: 2,
  flags: {},
  managedRoomIds: ['!bench:localhost'],
  users: [{ id: '@bench:localhost', active: true, authType: 'passthrough', joinedRooms: [{ roomId: '!bench:localhost', powerLevel: 0 }] }],
};

/** A process the benchmark started. */
export interface BenchProcess {
  pid: number;
  port: number;
  /** The Unix socket it also serves on, if any. */
  socketPath?: string;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** Forks the fake homeserver (bench/fake-homeserver.ts), on TCP and on a Unix socket, and waits until it listens. */
export function startFakeHomeserver(): Promise<BenchProcess> {
  return forkListening(FAKE_HOMESERVER, 'fake homeserver', [join(tmpdir(), `corporal-bench-hs-${process.pid}.sock`)]);
}

/** Forks the hook REST service (bench/hook-service.ts) and waits until it listens. */
export function startHookService(): Promise<BenchProcess> {
  return forkListening(HOOK_SERVICE, 'hook service');
}

/** Forks the floor proxy (bench/floor-proxy.ts) with `mode`'s upstream client in front of `upstreamPort`. */
export function startFloorProxy(mode: 'undici' | 'socket' | 'llhttp', upstreamPort: number, threads: number): Promise<BenchProcess> {
  return forkListening(FLOOR_PROXY, `floor proxy (${mode})`, [mode, String(upstreamPort), String(threads)]);
}

/** Forks `file`, which reports `{ port, socketPath? }` over IPC once it listens (and exits when the parent disconnects). */
function forkListening(file: string, name: string, args: string[] = []): Promise<BenchProcess> {
  const child = fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
    child.once('message', (message: unknown) => {
      const { port, socketPath } = message as { port?: number; socketPath?: string };
      if (typeof port !== 'number') return reject(new Error(`${name} sent no port`));
      resolve({ pid: child.pid!, port, ...(socketPath === undefined ? {} : { socketPath }), stop: () => stopChild(child, 'SIGTERM') });
    });
  });
}

/** Options of {@link startCorporal}. */
export interface CorporalOptions {
  upstream: string;
  threads: number;
  accessLog: boolean;
  /** Default {@link BENCH_POLICY}. */
  policy?: unknown;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** `Matrix.HomeserverApiSocketPath`: reach `upstream` over this Unix socket. */
  socketPath?: string;
}

/**
 * Runs Corporal as operators do (`corporal serve --config …`) in front of `upstream`, with
 * `options.policy` (default {@link BENCH_POLICY}) as a `static_file` policy, and waits until the gateway proxies (the policy reached every
 * thread). Its output goes to /dev/null (the access log, when on, is still written).
 */
export async function startCorporal(options: CorporalOptions): Promise<BenchProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-bench-'));
  const port = await freePort();
  const policyPath = join(dir, 'policy.json');
  const configPath = join(dir, 'config.json');
  await writeFile(policyPath, JSON.stringify(options.policy ?? BENCH_POLICY));
  await writeFile(configPath, JSON.stringify({
    Matrix: {
      HomeserverDomainName: 'localhost',
      HomeserverApiEndpoint: options.upstream,
      ...(options.socketPath === undefined ? {} : { HomeserverApiSocketPath: options.socketPath }),
      AuthSharedSecret: 'bench-shared-secret',
      TimeoutMilliseconds: 45_000,
    },
    Corporal: { UserID: '@corporal:localhost' },
    Reconciliation: { RetryIntervalMilliseconds: 30_000 },
    HttpGateway: {
      ListenAddress: `127.0.0.1:${port}`,
      TimeoutMilliseconds: 60_000,
      Threads: options.threads,
      AccessLog: options.accessLog,
      InternalRESTAuth: { Enabled: false },
    },
    HttpApi: { Enabled: false, TimeoutMilliseconds: 15_000 },
    PolicyProvider: { Type: 'static_file', Path: policyPath },
    Misc: { LogLevel: 'info' },
  }));
  // CORPORAL_BENCH_NODE_ARGS: node flags for the Corporal process only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (process.env['CORPORAL_BENCH_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...nodeArgs, CORPORAL, 'serve', '--config', configPath], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...options.env },
  });
  const stop = async (): Promise<void> => {
    await stopChild(child, 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`corporal exited (${child.exitCode})`);
    try {
      const response = await request(`http://127.0.0.1:${port}/_matrix/client/v3/joined_rooms`, { reset: true });
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('corporal did not start proxying within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid: child.pid!, port, stop };
}
