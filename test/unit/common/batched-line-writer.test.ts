import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedLineWriter } from '../../../src/common/batched-line-writer.js';

const line = (n: number): string => `line-${String(n).padStart(6, '0')}\n`;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

t.test('every line reaches the file, in order, in batches', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { batchChars: 1000 });
  const expected: string[] = [];
  for (let n = 0; n < 5000; n++) {
    writer.write(line(n));
    expected.push(line(n));
    if (n % 700 === 0) await sleep(1); // let some batches complete in between
  }
  writer.end();
  const size = expected.join('').length;
  await until(() => readFileSync(path).length === size, 'the last batch');
  closeSync(fd);
  t.equal(readFileSync(path, 'utf8'), expected.join(''));
});

t.test('a quiet writer still flushes on its interval', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { batchChars: 1_000_000, flushIntervalMs: 20 });
  writer.write(line(1));
  await until(() => readFileSync(path, 'utf8') === line(1), 'the interval flush');
  writer.end();
  closeSync(fd);
  t.pass();
});

t.test('a stalled reader: lines beyond the bound are dropped and counted, the rest arrive in order', async (t) => {
  // A pipe whose reader starts late: libuv made it non-blocking, so writes meet EAGAIN first.
  const reader = spawn('sh', ['-c', 'sleep 0.5; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  const writer = new BatchedLineWriter(fd, {
    batchChars: 4096,
    maxPendingChars: 100_000,
    droppedLine: (count) => `dropped ${count}\n`,
  });
  const total = 100_000; // 1.2 MB: far more than the pipe and the bound hold
  for (let n = 0; n < total; n++) writer.write(line(n));
  const output = (): string => Buffer.concat(chunks).toString('utf8');
  await until(() => output().length > 0, 'the reader to start');
  await sleep(200);
  writer.write('end\n');
  await until(() => output().endsWith('end\n'), 'the final line');
  writer.end();
  reader.stdin.end();

  const lines = output().split('\n').slice(0, -1);
  t.equal(lines.at(-1), 'end');
  const notice = lines.at(-2) ?? '';
  t.match(notice, /^dropped \d+$/, 'one notice counts the dropped lines');
  const kept = lines.slice(0, -2);
  t.ok(kept.length > 0 && kept.length < total, `some lines kept (${kept.length}), some dropped`);
  t.equal(kept.length + Number(notice.split(' ')[1]), total, 'kept + dropped = written');
  t.same(kept, kept.map((_, n) => line(n).trimEnd()), 'the kept lines are the first ones, in order');
});
