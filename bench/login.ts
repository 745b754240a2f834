/**
 * Login benchmarks (issue 6), each figure measured in the same run as its baseline:
 *   1. `plain` and `sha256` logins per second through the gateway (Corporal checks the policy
 *      password, rewrites, Synapse checks the derived password and creates a device) vs the same
 *      logins straight at Synapse with the derived password: the ratio is the gateway's cost.
 *      Real Synapse (the pinned test homeserver, SQLite, bcrypt_rounds 4).
 *   2. p99 of cached-token GETs through the gateway, alone and during a storm of bcrypt logins
 *      (cost 10) that keeps every offload worker busy (target: ≤ 2× the p99 without the storm).
 *      A canned upstream (login-upstream.ts), so the gateway is what is measured.
 * Corporal runs as operators run it (`corporal serve`, 2 gateway threads, default Offload).
 * Usage: `npm run build && node dist/bench/login.js [seconds] [storm]` (`logins` or `storm`: that part only;
 * `LOGIN_BENCH_ROUNDS`, default 3: measurement pairs per figure, medians reported); writes bench/results/login.json.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashSync } from 'bcryptjs';
import { request } from 'undici';
import { derivedPassword } from '../src/common/derived-password.js';
import { startSynapse } from '../test/support/start-synapse.js';
import { registerUser } from '../test/support/matrix-client.js';
import { findFreePort } from '../test/support/free-port.js';
import { ensureStopped, startCorporalProcess, type CorporalProcess } from '../test/support/corporal-process.js';
import { loginPolicyDocument, type PolicyUserInput } from '../test/fixtures/login/policy.js';

/** The part of autocannon's API used here (the package ships no types). */
interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
type Autocannon = (options: {
  url: string;
  duration: number;
  connections: number;
  method?: string;
  headers?: Record<string, string>;
  requests?: Array<LoadRequest & { setupRequest?: (request: LoadRequest) => LoadRequest }>;
  timeout?: number;
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SECONDS = Number(process.argv[2] ?? 10);
/** Measurement pairs per figure (direct/gateway, quiet/storm); medians are reported: a shared machine is noisy. */
const ROUNDS = Number(process.env['LOGIN_BENCH_ROUNDS'] ?? 3);
const SECRET = 'bench-auth-shared-secret';
const DOMAIN = 'localhost';
const USERS_PER_TYPE = 20;

interface Figure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function figure(result: LoadResult): Figure {
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

/** Starts `corporal serve` in front of `upstream` with `policy`; resolves once the gateway proxies. */
async function startCorporal(upstream: string, policy: unknown): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'corporal-login-bench-'));
  const port = await findFreePort();
  await writeFile(join(dir, 'policy.json'), JSON.stringify(policy));
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    Matrix: { HomeserverDomainName: DOMAIN, HomeserverApiEndpoint: upstream, AuthSharedSecret: SECRET, TimeoutMilliseconds: 45_000 },
    Corporal: { UserID: `@corporal:${DOMAIN}` },
    Reconciliation: { RetryIntervalMilliseconds: 60_000 },
    HttpGateway: { ListenAddress: `127.0.0.1:${port}`, TimeoutMilliseconds: 60_000, Threads: 2, AccessLog: false, InternalRESTAuth: { Enabled: false } },
    HttpApi: { Enabled: false, TimeoutMilliseconds: 15_000 },
    PolicyProvider: { Type: 'static_file', Path: join(dir, 'policy.json') },
    Misc: { LogLevel: 'warn' },
  }));
  const corporal: CorporalProcess = startCorporalProcess(['serve', '--config', join(dir, 'config.json')]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    corporal.process.kill('SIGTERM');
    await ensureStopped(corporal);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await request(`${url}/_matrix/client/versions`, { reset: true }).then(async (r) => (await r.body.dump(), r.statusCode), () => 0);
    if (status === 200) return { url, stop };
    if (Date.now() > deadline || corporal.process.exitCode !== null) {
      await stop();
      throw new Error(`corporal did not start proxying: ${corporal.text.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** POST /login bodies cycling over `bodies`. */
function loginLoad(url: string, bodies: readonly string[], connections: number, seconds = SECONDS): Promise<LoadResult> {
  let next = 0;
  return autocannon({
    url,
    duration: seconds,
    connections,
    timeout: 30,
    requests: [{
      method: 'POST',
      path: '/_matrix/client/v3/login',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }),
    }],
  });
}

/** The median of `values` (the upper one of the middle two for an even count). */
function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

const loginBody = (user: string, password: string): string => JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password });

async function loginThroughput(): Promise<Record<string, unknown>> {
  const hs = await startSynapse();
  try {
    const users: Array<PolicyUserInput & { password: string }> = [];
    for (const authType of ['plain', 'sha256'] as const) {
      for (let i = 0; i < USERS_PER_TYPE; i++) {
        const id = `@${authType}${i}:${DOMAIN}`;
        const password = `${authType}-password-${i}`;
        const credential = authType === 'plain' ? password : createHash('sha256').update(password).digest('hex');
        users.push({ id, authType, credential, displayName: id, password });
        await registerUser(hs, { localpart: `${authType}${i}`, password: derivedPassword(SECRET, id) });
      }
    }
    const gateway = await startCorporal(hs.baseUrl, loginPolicyDocument(users));
    try {
      const results: Record<string, unknown> = {};
      for (const authType of ['plain', 'sha256']) {
        const mine = users.filter((user) => user.authType === authType);
        const direct = mine.map((user) => loginBody(user.id, derivedPassword(SECRET, user.id)));
        const through = mine.map((user) => loginBody(user.id, user.password));
        const rounds: Array<{ direct: Figure; gateway: Figure; ratio: number }> = [];
        // Alternating direct/gateway rounds: Synapse's speed drifts (its database grows by a device
        // per login, other work shares the machine), so each ratio compares neighbours in time.
        for (let round = 1; round <= ROUNDS; round++) {
          await loginLoad(hs.baseUrl, direct, 8, 2);
          const directFigure = figure(await loginLoad(hs.baseUrl, direct, 8));
          await loginLoad(gateway.url, through, 8, 2);
          const gatewayFigure = figure(await loginLoad(gateway.url, through, 8));
          const ratio = Number((gatewayFigure.rps / directFigure.rps).toFixed(2));
          rounds.push({ direct: directFigure, gateway: gatewayFigure, ratio });
          process.stdout.write(
            `${authType} round ${round}: direct ${directFigure.rps} logins/s (p99 ${directFigure.p99} ms), gateway ${gatewayFigure.rps} (p99 ${gatewayFigure.p99} ms), ` +
              `ratio ${ratio}; errors ${directFigure.errors}/${gatewayFigure.errors}\n`,
          );
        }
        const medianRatio = median(rounds.map((r) => r.ratio));
        process.stdout.write(`${authType}: median ratio ×${medianRatio}\n`);
        results[authType] = { rounds, medianRatio };
      }
      return results;
    } finally {
      await gateway.stop();
    }
  } finally {
    await hs.stop();
  }
}

async function startCannedUpstream(): Promise<{ url: string; stop(): void }> {
  const child = fork(fileURLToPath(new URL('./login-upstream.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`canned upstream exited (${code})`)));
    child.once('message', (message) => resolve((message as { port: number }).port));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function stormLatency(): Promise<Record<string, unknown>> {
  const upstream = await startCannedUpstream();
  const stormUsers: Array<PolicyUserInput & { password: string }> = Array.from({ length: 4 }, (_, i) => {
    const password = `storm-password-${i}`;
    return { id: `@storm${i}:${DOMAIN}`, authType: 'bcrypt' as const, credential: hashSync(password, 10), displayName: `storm ${i}`, password };
  });
  const gateway = await startCorporal(upstream.url, loginPolicyDocument(stormUsers));
  try {
    const token = 'bench-cached-token';
    const get = (seconds: number): Promise<LoadResult> => autocannon({
      url: gateway.url,
      duration: seconds,
      connections: 10,
      timeout: 30,
      requests: [{ method: 'GET', path: '/_matrix/client/v3/joined_rooms', headers: { authorization: `Bearer ${token}` } }],
    });
    await get(2); // warms the token cache of both threads
    const bodies = stormUsers.map((user) => loginBody(user.id, user.password));
    const rounds: Array<{ alone: Figure; duringStorm: Figure; p99Ratio: number; storm: Figure & { ok: number } }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const alone = figure(await get(SECONDS));
      const storm = loginLoad(gateway.url, bodies, 16, SECONDS + 2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const duringStorm = figure(await get(SECONDS));
      const logins = await storm;
      const p99Ratio = Number((duringStorm.p99 / Math.max(alone.p99, 1)).toFixed(2));
      rounds.push({ alone, duringStorm, p99Ratio, storm: { ...figure(logins), ok: logins['2xx'] } });
      process.stdout.write(
        `round ${round}: cached GET p99 ${alone.p99} ms alone, ${duringStorm.p99} ms during the bcrypt storm (×${p99Ratio}); ` +
          `rps ${alone.rps} → ${duringStorm.rps}; storm ${Math.round(logins.requests.average)} logins/s, ${logins['2xx']} ok, ${figure(logins).errors} not ok, p99 ${logins.latency.p99} ms\n`,
      );
    }
    const medianRatio = median(rounds.map((r) => r.p99Ratio));
    process.stdout.write(`median p99 ratio over ${ROUNDS} rounds: ×${medianRatio} (target ≤ 2)\n`);
    return { rounds, medianP99Ratio: medianRatio };
  } finally {
    await gateway.stop();
    upstream.stop();
  }
}

const results = { seconds: SECONDS, cores: availableParallelism(), loadAverageAtStart: loadavg()[0], logins: process.argv[3] === 'storm' ? null : await loginThroughput(), storm: process.argv[3] === 'logins' ? null : await stormLatency() };
const out = fileURLToPath(new URL('../../bench/results/login.json', import.meta.url));
await mkdir(join(out, '..'), { recursive: true });
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
