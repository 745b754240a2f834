import { write as fsWrite } from 'node:fs';

/** Options of {@link BatchedLineWriter}. */
export interface BatchedLineWriterOptions {
  /** Start a write once this many characters are pending (default 64 KiB). */
  batchChars?: number;
  /** Write what is pending at least this often (default 200 ms). */
  flushIntervalMs?: number;
  /**
   * Lines are dropped (and counted) while more than this many characters wait for a slow or stuck
   * output (default 16 Mi): a log reader that stalls must not make a gateway thread grow without
   * bound.
   */
  maxPendingChars?: number;
  /** The line written in place of dropped ones once output moves again (must end with `\n`). */
  droppedLine?: (count: number) => string;
}

/** Retry delay after `EAGAIN` (a non-blocking pipe whose reader is behind). */
const RETRY_MS = 20;

/**
 * Collects log lines and writes them to a file descriptor in large asynchronous batches: one
 * `write(2)` per batch instead of one per line, and the thread never blocks on its output.
 *
 * Used as the pino destination of gateway threads and written to directly by the access log, so
 * both keep their order. Cheaper than pino's own asynchronous destination under load, which
 * measures the byte length of its whole pending batch on every line.
 *
 * Contract: `write` takes complete lines (ending with `\n`); lines reach the descriptor in the
 * order written, except those dropped above `maxPendingChars`, which are replaced by one
 * `droppedLine`. `flush` starts writing everything pending; the thread's event loop stays alive
 * until it is written (so a thread that stops after `flush` loses nothing). Write errors other
 * than `EAGAIN` (e.g. a closed stdout) drop the batch: there is nowhere else to report them.
 */
export class BatchedLineWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  private writing = false;
  private dropped = 0;
  private readonly batchChars: number;
  private readonly maxPendingChars: number;
  private readonly droppedLine: (count: number) => string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    options: BatchedLineWriterOptions = {},
  ) {
    this.batchChars = options.batchChars ?? 65_536;
    this.maxPendingChars = options.maxPendingChars ?? 16 * 1024 * 1024;
    this.droppedLine = options.droppedLine ?? ((count) => `{"msg":"${count} log lines dropped: output too slow"}\n`);
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  /** Queues one line (pino calls this with each formatted line). */
  write(line: string): void {
    if (this.pendingChars + line.length > this.maxPendingChars) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) this.appendDropNotice();
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= this.batchChars) this.flush();
  }

  /** Starts writing everything pending (no-op while a write is in flight: it continues with the rest). */
  flush(callback?: (err?: Error) => void): void {
    if (!this.writing && this.pending.length > 0) this.writeBatch(Buffer.from(this.pending.join('')));
    callback?.();
  }

  /** Stops the periodic flush (the thread is ending); what is pending is still written by {@link flush}. */
  end(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private appendDropNotice(): void {
    const notice = this.droppedLine(this.dropped);
    this.dropped = 0;
    this.pending.push(notice);
    this.pendingChars += notice.length;
  }

  private writeBatch(batch: Buffer): void {
    this.writing = true;
    this.pending = [];
    this.pendingChars = 0;
    fsWrite(this.fd, batch, 0, batch.length, null, (err, written) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        setTimeout(() => this.writeBatch(this.requeue(batch)), RETRY_MS);
        return;
      }
      const rest = err ? null : batch.subarray(written);
      if (rest !== null && rest.length > 0) {
        this.writeBatch(this.requeue(rest));
        return;
      }
      this.writing = false;
      if (this.pending.length > 0) this.writeBatch(Buffer.from(this.pending.join('')));
    });
  }

  /** `unwritten` followed by whatever was queued meanwhile, as the next batch. */
  private requeue(unwritten: Buffer): Buffer {
    if (this.pending.length === 0) return unwritten;
    return Buffer.concat([unwritten, Buffer.from(this.pending.join(''))]);
  }
}
