import { fstatSync, write as fsWrite } from 'node:fs';

/** Options of {@link BatchedLineWriter}. */
export interface BatchedLineWriterOptions {
  /**
   * Largest single write, in bytes; a write always ends at a line boundary (a longer line goes out
   * alone). Default: `PIPE_BUF` (4096) when the descriptor is a pipe or socket, where only writes of
   * at most that size are atomic and other threads and processes write lines too; 64 KiB otherwise.
   */
  maxWriteBytes?: number;
  /** Write what is pending at least this often (default 200 ms). */
  flushIntervalMs?: number;
  /**
   * Lines are dropped (and counted) while more than this many bytes wait for a slow or stuck
   * output (default 16 MiB): a log reader that stalls must not make a gateway thread grow without
   * bound.
   */
  maxPendingBytes?: number;
  /** The line written in place of dropped ones once output moves again (must end with `\n`). */
  droppedLine?: (count: number) => string;
}

/** POSIX guarantees atomic pipe writes up to PIPE_BUF bytes (4096 on Linux). */
const PIPE_BUF = 4096;
/** Retry delay after `EAGAIN` (a non-blocking pipe whose reader is behind). */
const RETRY_MS = 20;

/**
 * Collects log lines and writes them to a file descriptor asynchronously, many lines per
 * `write(2)`: the thread never blocks on its output and makes one system call per batch instead
 * of one per line. Used as the pino destination of gateway threads and written to directly by
 * the access log, so both keep their order. Cheaper than pino's own asynchronous destination under
 * load, which measures the byte length of its whole pending batch on every line.
 *
 * Contract: `write` takes complete lines (ending with `\n`). Lines reach the descriptor whole
 * (on a pipe or socket no other writer's bytes land inside one, see `maxWriteBytes`) and in the
 * order written, except those dropped above `maxPendingBytes`, which are replaced by one
 * `droppedLine`. A write starts when a full batch (`maxWriteBytes`) is pending, on `flush` and on
 * the flush interval — never for a few lines that came in while the previous write ran. `flush`
 * starts writing everything pending and the event loop stays alive until it is written, so a
 * thread that stops after `flush` (or `end`) loses nothing. Write errors other than `EAGAIN`
 * (e.g. a closed stdout) drop the batch: there is nowhere else to report them.
 */
export class BatchedLineWriter {
  /** Lines not written yet: `pending[head…]`. */
  private pending: string[] = [];
  /** The UTF-8 length of each pending line (same index): measured once, when the line comes in. */
  private pendingLengths: number[] = [];
  private head = 0;
  private pendingBytes = 0;
  /** The batch being written (or waiting to be retried); null when idle. */
  private inFlight: Buffer | null = null;
  private dropped = 0;
  private ended = false;
  /** Lines queued so far, lines handed to `write(2)` so far, and how far a requested flush must go. */
  private queuedLines = 0;
  private writtenLines = 0;
  private flushUntil = 0;
  private readonly maxWriteBytes: number;
  private readonly maxPendingBytes: number;
  private readonly droppedLine: (count: number) => string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly fd: number,
    options: BatchedLineWriterOptions = {},
  ) {
    this.maxWriteBytes = options.maxWriteBytes ?? defaultMaxWriteBytes(fd);
    this.maxPendingBytes = options.maxPendingBytes ?? 16 * 1024 * 1024;
    this.droppedLine = options.droppedLine ?? ((count) => `{"msg":"${count} log lines dropped: output too slow"}\n`);
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  /** Queues one line (pino calls this with each formatted line). */
  write(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) this.queueDropNotice();
    this.pending.push(line);
    this.pendingLengths.push(bytes);
    this.queuedLines++;
    this.pendingBytes += bytes;
    if (this.ended) this.flush();
    else if (this.pendingBytes >= this.maxWriteBytes && this.inFlight === null) this.writeNext();
  }

  /** Starts writing everything pending now (while a write is in flight, it continues up to here). */
  flush(callback?: (err?: Error) => void): void {
    this.flushUntil = this.queuedLines;
    if (this.inFlight === null) this.writeNext();
    callback?.();
  }

  /** Stops the periodic flush (the thread is ending) and writes what is pending; later lines are written at once. */
  end(): void {
    this.ended = true;
    clearInterval(this.timer);
    this.flush();
  }

  private queueDropNotice(): void {
    const notice = this.droppedLine(this.dropped);
    this.dropped = 0;
    const bytes = Buffer.byteLength(notice);
    this.pending.push(notice);
    this.pendingLengths.push(bytes);
    this.queuedLines++;
    this.pendingBytes += bytes;
  }

  /** Takes the next batch of whole lines (at most `maxWriteBytes`, or one longer line) and writes it. */
  private writeNext(): void {
    const pending = this.pending;
    const lengths = this.pendingLengths;
    const start = this.head;
    if (start === pending.length) return;
    let end = start;
    let bytes = 0;
    while (end < pending.length) {
      const lineBytes = lengths[end]!;
      if (end > start && bytes + lineBytes > this.maxWriteBytes) break;
      bytes += lineBytes;
      end++;
    }
    const text = start === 0 && end === pending.length ? pending.join('') : pending.slice(start, end).join('');
    if (end === pending.length) {
      this.pending = [];
      this.pendingLengths = [];
      this.head = 0;
    } else {
      // A backlog (after a stall) drains batch by batch: advance an index rather than shift the
      // array each time, and drop the written lines once they are half of it (amortised O(1)).
      this.head = end;
      if (end >= 1024 && end * 2 >= pending.length) {
        this.pending = pending.slice(end);
        this.pendingLengths = lengths.slice(end);
        this.head = 0;
      }
    }
    this.pendingBytes -= bytes;
    this.writtenLines += end - start;
    this.writeBatch(Buffer.from(text));
  }

  private writeBatch(batch: Buffer): void {
    this.inFlight = batch;
    fsWrite(this.fd, batch, 0, batch.length, null, (err, written) => {
      if (err && (err as NodeJS.ErrnoException).code === 'EAGAIN') {
        setTimeout(() => this.writeBatch(batch), RETRY_MS);
        return;
      }
      // A partial write (a blocking pipe interrupted, a full disk) goes on with the rest.
      if (!err && written < batch.length) {
        this.writeBatch(batch.subarray(written));
        return;
      }
      this.inFlight = null;
      // Go on only with a full batch, an unfinished flush, or at the end. Writing whatever trickled
      // in during the last write would turn a busy thread's log into a stream of tiny thread-pool
      // writes (measured: the access log then cost a tenth of the cached-GET throughput).
      if (this.pendingBytes >= this.maxWriteBytes || this.writtenLines < this.flushUntil || this.ended) this.writeNext();
    });
  }
}

/** PIPE_BUF for pipes and sockets (atomic writes), 64 KiB for files and devices. */
function defaultMaxWriteBytes(fd: number): number {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket() ? PIPE_BUF : 65_536;
  } catch {
    return PIPE_BUF;
  }
}
