import autocannon, { type Options } from 'autocannon';
import type { BenchSettings, Measurement, Scenario, Target } from './scenario.js';
import { BENCH_POLICY } from '../support/processes.js';

const WARM_UP_S = 2;

/** Runs autocannon for a short warm-up, then for the measured duration. */
async function load(target: Target, settings: BenchSettings, options: Omit<Options, 'url'>): Promise<Measurement> {
  const warmUp = await autocannon({ ...options, url: target.url, duration: WARM_UP_S, connections: settings.connections });
  const result = await autocannon({ ...options, url: target.url, duration: settings.durationS, connections: settings.connections, timeout: 10 });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p975: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests: (warmUp.requests.total ?? 0) + (result.requests.total ?? 0),
  };
}

/** `GET /joined_rooms` with a token the gateway has cached: the pure proxy path. */
export const cachedGet: Scenario = {
  name: 'cached-get',
  description: 'authenticated GET, token cached',
  run: (target, settings) => load(target, settings, {
    method: 'GET',
    headers: { authorization: `Bearer ${settings.token}` },
    requests: [{ path: '/_matrix/client/v3/joined_rooms' }],
  }),
};

/**
 * `cached-get` with Corporal reaching the fake homeserver over a Unix socket
 * (`Matrix.HomeserverApiSocketPath`); clients still reach Corporal, and the direct half the fake
 * homeserver, over TCP, so the ratio compares with the same direct baseline as `cached-get`.
 */
export const cachedGetUnix: Scenario = {
  name: 'cached-get-unix',
  description: 'authenticated GET, token cached, Corporal → homeserver over a Unix socket',
  ownCorporal: async (upstream) => ({ policy: BENCH_POLICY, socketPath: upstream.upstreamSocketPath, close: async () => {} }),
  run: cachedGet.run,
};

/** Every request carries a new token: the gateway asks whoami first (one extra upstream call each). */
export const tokenMiss: Scenario = {
  name: 'token-miss',
  description: 'authenticated GET, new token each time (whoami per request)',
  run: (target, settings) => {
    let counter = 0;
    const run = `${target.kind}-${Date.now()}`;
    return load(target, settings, {
      method: 'GET',
      requests: [{
        path: '/_matrix/client/v3/joined_rooms',
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer miss-${run}-${counter++}` } }),
      }],
    });
  },
};

/** A 1 KiB `m.text` message body. */
export const MESSAGE_1K = JSON.stringify({ msgtype: 'm.text', body: 'x'.repeat(1024 - 32) });

/** A PUT load with a JSON body and the cached token, to the path `pathFor()` gives for each request. */
export function loadWithBody(target: Target, settings: BenchSettings, body: string, pathFor: () => string): Promise<Measurement> {
  return load(target, settings, {
    method: 'PUT',
    headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/json' },
    body,
    requests: [{ setupRequest: (request) => ({ ...request, path: pathFor() }) }],
  });
}

/** `PUT …/send/m.room.message/{txn}` with a 1 KiB body, a new txn id each time (policy-checked: `room.send`). */
export const send1k: Scenario = {
  name: 'send-1k',
  description: 'PUT …/send with a 1 KiB JSON body (policy-checked, managed user)',
  run: (target, settings) => {
    let txn = 0;
    return loadWithBody(target, settings, MESSAGE_1K, () => `/_matrix/client/v3/rooms/!bench:localhost/send/m.room.message/t${txn++}`);
  },
};
