import { connect, type Socket } from 'node:net';
import { percentiles } from '../support/percentiles.js';
import type { BenchSettings, Measurement, Scenario, Target } from './scenario.js';

const CONNECTIONS = 5000;
const HOLD_MS = 30_000;
/** Connections opened per batch, and the pause between batches (keeps the accept queues short). */
const BATCH = 250;
const BATCH_PAUSE_MS = 50;
const GRACE_MS = 20_000;

/**
 * 5,000 concurrent `GET /sync?timeout=30000` long-polls, each on its own raw TCP connection, held
 * until the (fake) homeserver answers after 30 s. Counts answers that are not `200` and
 * connections that fail or get no answer as errors; latency is per long-poll (≈ 30 s).
 */
export const longPoll5000: Scenario = {
  name: 'longpoll-5000',
  description: `${CONNECTIONS} concurrent long-poll /sync held ${HOLD_MS / 1000} s`,
  run: async (target: Target, settings: BenchSettings): Promise<Measurement> => {
    const head = `GET /_matrix/client/v3/sync?timeout=${HOLD_MS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${settings.token}\r\n\r\n`;
    const durations: number[] = [];
    let errors = 0;
    let opened = 0;
    const sockets: Socket[] = [];
    const done: Array<Promise<void>> = [];
    const started = performance.now();
    for (let i = 0; i < CONNECTIONS; i++) {
      if (i > 0 && i % BATCH === 0) await new Promise((resolve) => setTimeout(resolve, BATCH_PAUSE_MS));
      done.push(new Promise<void>((resolve) => {
        const begin = performance.now();
        const socket = connect(target.port, '127.0.0.1', () => {
          opened++;
          socket.write(head);
        });
        sockets.push(socket);
        let answer = '';
        let settled = false;
        const finish = (ok: boolean): void => {
          if (settled) return;
          settled = true;
          if (ok) durations.push(performance.now() - begin);
          else errors++;
          socket.destroy();
          resolve();
        };
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          answer += chunk;
          if (answer.length >= 12) finish(answer.startsWith('HTTP/1.1 200'));
        });
        socket.on('error', () => finish(false));
        socket.on('close', () => finish(false));
      }));
    }
    const deadline = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, HOLD_MS + GRACE_MS);
    await Promise.all(done);
    clearTimeout(deadline);
    const seconds = (performance.now() - started) / 1000;
    return { rps: durations.length / seconds, ...percentiles(durations), errors, extra: { opened } };
  },
};
