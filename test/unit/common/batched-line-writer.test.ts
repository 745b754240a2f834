import t from 'tap';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedLineWriter } from '../../../src/common/batched-line-writer.js';

const line = (n: number): string => `line-${String(n).padStart(6, '0')}\n`;

/** The descriptor of a child's stdin pipe (libuv made it non-blocking). */
function pipeFd(stream: unknown): number {
  return (stream as { _handle: { fd: number } })._handle.fd;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

t.test('every line reaches the file, in order, in batches', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { maxWriteBytes: 1000 });
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

t.test('lines that come in during a write wait for a full batch or a flush, not the end of that write', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { maxWriteBytes: 120, flushIntervalMs: 3_600_000 });
  const batch = Array.from({ length: 10 }, (_, n) => line(n)).join(''); // 120 bytes: one full batch
  for (let n = 0; n < 10; n++) writer.write(line(n)); // the 10th starts a write
  writer.write(line(10)); // comes in while it runs
  await until(() => readFileSync(path, 'utf8') === batch, 'the full batch');
  await sleep(50);
  t.equal(readFileSync(path, 'utf8'), batch, 'the straggler waits (one write per batch under load)');
  writer.flush();
  await until(() => readFileSync(path, 'utf8') === batch + line(10), 'the flush');
  writer.end();
  closeSync(fd);
  t.pass('flush writes it');
});

t.test('a quiet writer still flushes on its interval', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { maxWriteBytes: 1_000_000, flushIntervalMs: 20 });
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
  const fd = pipeFd(reader.stdin);
  const writer = new BatchedLineWriter(fd, {
    maxPendingBytes: 100_000,
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

t.test('two writers on one pipe with a slow reader: every line arrives whole, each writer in order', async (t) => {
  // Writes on a pipe are atomic only up to PIPE_BUF: bigger batches would be cut when the pipe is
  // nearly full, and the other writer's bytes would land inside a line.
  const reader = spawn('sh', ['-c', 'sleep 0.3; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  reader.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const fd = pipeFd(reader.stdin);
  const writers = ['a', 'b'].map((name) => ({ name, writer: new BatchedLineWriter(fd) }));
  const perWriter = 20_000;
  const padding = 'x'.repeat(150);
  for (let n = 0; n < perWriter; n++) {
    for (const { name, writer } of writers) writer.write(`${name}-${String(n).padStart(6, '0')}-${padding}\n`);
    if (n % 2000 === 0) await sleep(1);
  }
  for (const { writer } of writers) writer.end();
  const lineLength = 2 + 7 + padding.length + 1;
  await until(() => Buffer.concat(chunks).length === 2 * perWriter * lineLength, 'every line');
  reader.stdin.end();
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1);
  const whole = /^([ab])-(\d{6})-x{150}$/;
  t.equal(lines.filter((line) => !whole.test(line)).length, 0, 'no line was cut or mixed');
  for (const name of ['a', 'b']) {
    const numbers = lines.filter((line) => line.startsWith(`${name}-`)).map((line) => Number(line.slice(2, 8)));
    t.same(numbers, numbers.map((_, n) => n), `${name}: all lines, in order`);
  }
});

t.test('a line longer than one write still goes out whole', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'corporal-lines-')), 'out.log');
  const fd = openSync(path, 'w');
  const writer = new BatchedLineWriter(fd, { maxWriteBytes: 100 });
  const long = `${'é'.repeat(300)}\n`;
  writer.write(line(1));
  writer.write(long);
  writer.write(line(2));
  writer.end();
  const expected = line(1) + long + line(2);
  await until(() => readFileSync(path).length === Buffer.byteLength(expected), 'all three lines');
  closeSync(fd);
  t.equal(readFileSync(path, 'utf8'), expected);
});
