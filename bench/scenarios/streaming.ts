import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { MEDIA_BYTES } from '../support/constants.js';
import { percentiles } from '../support/percentiles.js';
import type { BenchSettings, Measurement, Scenario, Target } from './scenario.js';

/** Transfers in flight at once (the `-single` scenarios: one), and rounds of them. */
const PARALLEL = 4;
const ROUNDS = 3;
const MiB = 1024 * 1024;

type Transfer = (agent: Agent, target: Target, settings: BenchSettings) => Promise<number>;

/** Runs ROUNDS × `parallel` transfers; each returns its byte count. */
async function transfers(parallel: number, transfer: (agent: Agent) => Promise<number>): Promise<Measurement> {
  const agent = new Agent({ connections: parallel, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const durations: number[] = [];
  let errors = 0;
  let bytes = 0;
  const started = performance.now();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(Array.from({ length: parallel }, async () => {
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

/** One streamed download of `MEDIA_BYTES` (50 MiB). */
const download: Transfer = async (agent, target, settings) => {
    const response = await request(`${target.url}/_matrix/client/v1/media/download/localhost/bench`, {
      dispatcher: agent,
      headers: { authorization: `Bearer ${settings.token}` },
    });
    let received = 0;
    for await (const chunk of response.body) received += (chunk as Buffer).length;
    if (response.statusCode !== 200 || received !== MEDIA_BYTES) throw new Error(`download: ${response.statusCode}, ${received} bytes`);
    return received;
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

/** One streamed upload of 50 MiB. */
const upload: Transfer = async (agent, target, settings) => {
    const response = await request(`${target.url}/_matrix/media/v3/upload`, {
      dispatcher: agent,
      method: 'POST',
      headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/octet-stream', 'content-length': String(MEDIA_BYTES) },
      body: zeros(MEDIA_BYTES),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`upload: ${response.statusCode} ${text}`);
    return MEDIA_BYTES;
};

/** A scenario of ROUNDS rounds of `parallel` transfers. */
function streamingScenario(name: string, what: string, parallel: number, transfer: Transfer): Scenario {
  return {
    name,
    description: `${parallel}×${ROUNDS} ${what} of 50 MiB`,
    run: (target: Target, settings: BenchSettings) => transfers(parallel, (agent) => transfer(agent, target, settings)),
  };
}

/** 50 MiB downloads, streamed through, four at a time. */
export const download50m = streamingScenario('download-50m', 'downloads', PARALLEL, download);
/** 50 MiB uploads, streamed through, four at a time. */
export const upload50m = streamingScenario('upload-50m', 'uploads', PARALLEL, upload);
/** One 50 MiB download at a time (the "a 50 MiB download" RSS target). */
export const download50mSingle = streamingScenario('download-50m-single', 'downloads', 1, download);
/** One 50 MiB upload at a time. */
export const upload50mSingle = streamingScenario('upload-50m-single', 'uploads', 1, upload);
