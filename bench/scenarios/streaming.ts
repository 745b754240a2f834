import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { MEDIA_BYTES } from '../support/constants.js';
import { percentiles } from '../support/percentiles.js';
import type { BenchSettings, Measurement, Scenario, Target } from './scenario.js';

/** Transfers in flight at once, and rounds of them. */
const PARALLEL = 4;
const ROUNDS = 3;
const MiB = 1024 * 1024;

/** Runs ROUNDS × PARALLEL transfers; each returns its byte count. */
async function transfers(transfer: (agent: Agent) => Promise<number>): Promise<Measurement> {
  const agent = new Agent({ connections: PARALLEL, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const durations: number[] = [];
  let errors = 0;
  let bytes = 0;
  const started = performance.now();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(Array.from({ length: PARALLEL }, async () => {
        const begin = performance.now();
        try {
          bytes += await transfer(agent);
          durations.push(performance.now() - begin);
        } catch {
          errors++;
        }
      }));
    }
  } finally {
    await agent.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rps: durations.length / seconds, ...percentiles(durations), errors, extra: { 'MiB/s': bytes / MiB / seconds } };
}

/** Downloads of `MEDIA_BYTES` (50 MiB), streamed through. */
export const download50m: Scenario = {
  name: 'download-50m',
  description: `${PARALLEL}×${ROUNDS} downloads of 50 MiB`,
  run: (target: Target, settings: BenchSettings) => transfers(async (agent) => {
    const response = await request(`${target.url}/_matrix/client/v1/media/download/localhost/bench`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${settings.token}` },
    });
    let received = 0;
    for await (const chunk of response.body) received += (chunk as Buffer).length;
    if (response.statusCode !== 200 || received !== MEDIA_BYTES) throw new Error(`download: ${response.statusCode}, ${received} bytes`);
    return received;
  }),
};

/** A body of `total` bytes produced in 256 KiB chunks (nothing held in memory). */
function zeros(total: number): Readable {
  const chunk = Buffer.alloc(256 * 1024);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const size = Math.min(chunk.length, left);
      left -= size;
      this.push(size === chunk.length ? chunk : chunk.subarray(0, size));
    },
  });
}

/** Uploads of 50 MiB, streamed through. */
export const upload50m: Scenario = {
  name: 'upload-50m',
  description: `${PARALLEL}×${ROUNDS} uploads of 50 MiB`,
  run: (target: Target, settings: BenchSettings) => transfers(async (agent) => {
    const response = await request(`${target.url}/_matrix/media/v3/upload`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/octet-stream', 'content-length': String(MEDIA_BYTES) },
      body: zeros(MEDIA_BYTES),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`upload: ${response.statusCode} ${text}`);
    return MEDIA_BYTES;
  }),
};
