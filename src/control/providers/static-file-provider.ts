import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';
import { whatStaysInForce, type PolicyStore } from '../policy-store.js';
import { ProviderHealth, offerPolicy, type PolicyProvider, type ProviderStatus } from './provider.js';
import { readBoundedFile } from '../../common/bounded-file.js';
import { settleWithin } from '../../common/deadline.js';
import { MAX_POLICY_BYTES } from '../policy-limits.js';
import { BurstDebounce } from './burst-debounce.js';
import { PolicyPathWatch } from './policy-path-watch.js';

/** Quiet time after the last relevant event before the file is read (matrix-corporal waited 1 s too). */
export const DEFAULT_DEBOUNCE_MS = 1000;

/** A burst of relevant events is read at most this long after its first event, however long it lasts. */
export const DEFAULT_MAX_WAIT_MS = 5000;

/**
 * How often the file's identity is checked without any event. Why: inotify does not see every
 * change — an NFS or CIFS file changed by another host, a Docker single-file bind mount written in
 * place on the host (the event goes to the host's directory, not the container's), a directory
 * symlink re-pointed somewhere that is not watched. One `stat` every 30 s bounds how long such a
 * change goes unnoticed, at no real cost.
 */
export const PERIODIC_CHECK_INTERVAL_MS = 30_000;

/**
 * A `stat` or read of the file still running after this long is reported as an error. Node.js
 * cannot cancel a file-system call: on a hung NFS or CIFS mount it waits for as long as the server
 * is away, and every later load waits behind it. Without the report the provider would show its
 * last success and no error for that whole time.
 */
export const STALLED_ACCESS_MS = 30_000;

/**
 * While the file on disk stays refused, a reminder is logged (warn) this often. Why: the policy in
 * force lives only in memory then, and a restart would start without one (503 for everyone); the
 * refusal itself is one log line, easily missed, and a mistake made on Monday becomes an outage at
 * Friday's reboot (operator review 19, finding 6). Hourly keeps it in any log window without
 * flooding. Checked by the periodic identity check, so it comes up to one check period late.
 */
export const REFUSED_REMINDER_INTERVAL_MS = 3_600_000;

/** The longest `stop()` waits for a load in progress (a hung mount must not hang a shutdown). */
export const STOP_WAIT_MS = 5_000;

/** What {@link StaticFileProvider} needs. */
export interface StaticFileProviderOptions {
  /** `PolicyProvider.Path` (relative paths resolve from the working directory). */
  path: string;
  store: PolicyStore;
  logger: Logger;
  /** Quiet time after the last relevant event before the file is read. Default {@link DEFAULT_DEBOUNCE_MS}. */
  debounceMs?: number;
  /** Longest a burst of relevant events postpones the read. Default {@link DEFAULT_MAX_WAIT_MS}. */
  maxWaitMs?: number;
  /** How long the file may be missing before that is reported as an error; also the re-check period. Default 5000 ms. */
  absenceGraceMs?: number;
  /** Period of the identity check that needs no event. Default {@link PERIODIC_CHECK_INTERVAL_MS}. */
  checkIntervalMs?: number;
  /** When a file-system call still running is reported. Default {@link STALLED_ACCESS_MS}. */
  stalledAccessMs?: number;
  /** The longest `stop()` waits for a load in progress. Default {@link STOP_WAIT_MS}. */
  stopWaitMs?: number;
  /** Period of the reminder while the file stays refused. Default {@link REFUSED_REMINDER_INTERVAL_MS}. */
  refusedReminderMs?: number;
  /** `stat`s the file (default `fs.stat`); tests put hangs in here. */
  statFile?: (path: string) => Promise<Stats>;
  /** Reads the file (default `readBoundedFile`); tests put failures in here. */
  readFile?: (path: string, maxBytes: number) => Promise<string>;
}

/**
 * `static_file`: loads `Path` at start and whenever it changes.
 *
 * It watches the file's **directory**, not the file (matrix-corporal watched the file and lost the
 * watch when an editor replaced it), and, when `Path` is a symlink, the directory of every link on
 * the way and of the resolved file too (re-resolved before every read, as a link can be
 * re-pointed) — see {@link PolicyPathWatch}. Only events that can concern the file count. They are
 * debounced ({@link BurstDebounce}: 1 s of quiet, at most 5 s after a burst's first event); then the
 * file is `stat`ed and read only when its identity, size or times changed. Every 30 s the identity is
 * also checked without any event, for the changes inotify cannot see. The store ignores content it
 * already has, so a spurious read changes nothing. Reads are serialised, and never block on a FIFO
 * or device at the path: that is refused and reported.
 *
 * A missing file is not an error at first (an editor may be between delete and re-create): it is
 * re-checked every `absenceGraceMs` and reported once that long has passed. The current policy
 * stays in force meanwhile. So it does when a `stat` or read hangs (an NFS server gone): that is
 * reported after {@link STALLED_ACCESS_MS}, and the report is withdrawn when the call returns.
 *
 * The file is the only copy of the policy: while the version on disk is refused, the refusal says
 * that a restart would start without a policy, and the periodic check repeats it as a warning every
 * {@link REFUSED_REMINDER_INTERVAL_MS} until the file changes.
 */
export class StaticFileProvider implements PolicyProvider {
  readonly type = 'static_file' as const;
  private readonly path: string;
  private readonly source: string;
  private readonly health = new ProviderHealth('static_file');
  private readonly absenceGraceMs: number;
  private readonly checkIntervalMs: number;
  private readonly watch: PolicyPathWatch;
  private readonly debounce: BurstDebounce;
  private absenceTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private absentSince: number | null = null;
  private absenceReported = false;
  /** Identity of the file version last read (see {@link identityOf}). */
  private lastSeen: string | null = null;
  /** While the version last read was refused: when, and when that was last said in the log. */
  private refused: { at: number; remindedAt: number } | null = null;
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: StaticFileProviderOptions) {
    this.path = resolve(options.path);
    this.source = `static_file:${this.path}`;
    this.absenceGraceMs = options.absenceGraceMs ?? 5000;
    this.checkIntervalMs = options.checkIntervalMs ?? PERIODIC_CHECK_INTERVAL_MS;
    this.debounce = new BurstDebounce(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      () => this.load(false, false).catch(() => {}));
    this.watch = new PolicyPathWatch({
      path: this.path,
      logger: options.logger,
      onEvent: () => { if (!this.stopped) this.debounce.poke(); },
      onFailure: () => this.scheduleAbsenceCheck(),
    });
  }

  /** Watches the file's directories, then loads the file once (a missing file is not an error yet). */
  async start(): Promise<void> {
    await this.load(true, true);
    this.schedulePeriodicCheck();
  }

  /** Reads the file again now, even if it looks unchanged (the API's provider reload). */
  reload(): Promise<void> {
    return this.load(true, false);
  }

  /**
   * Stops watching, cancels pending timers and waits for a load in progress, at most `stopWaitMs`:
   * a call hung on the file system is left behind (nothing can cancel it).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch.close();
    this.debounce.cancel();
    if (this.absenceTimer) clearTimeout(this.absenceTimer);
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.absenceTimer = null;
    this.checkTimer = null;
    const gaveUp = await settleWithin(this.loading.then(() => false), this.options.stopWaitMs ?? STOP_WAIT_MS, () => true);
    if (gaveUp) this.options.logger.warn({ path: this.path }, 'stopped while a read of the policy file was still running');
  }

  /** The provider's health: last success, last error. */
  status(): ProviderStatus {
    return this.health.status();
  }

  /** Serialised: one read at a time, in order. `force` reads even when the file looks unchanged. */
  private load(force: boolean, atStart: boolean): Promise<void> {
    const next = this.loading.then(() => this.loadOnce(force, atStart));
    this.loading = next.catch(() => {});
    return this.loading;
  }

  private async loadOnce(force: boolean, atStart: boolean): Promise<void> {
    if (this.stopped) return;
    const { logger } = this.options;
    // Before every read: a re-pointed link moves what must be watched.
    if (!(await this.reportingStall('watch update', this.watch.resync()))) this.scheduleAbsenceCheck();
    let stats: Stats;
    let text: string;
    try {
      stats = await this.reportingStall('stat', this.stat());
      const identity = identityOf(stats);
      if (this.stopped || (!force && identity === this.lastSeen)) return;
      this.lastSeen = identity;
      text = await this.reportingStall('read', (this.options.readFile ?? readBoundedFile)(this.path, MAX_POLICY_BYTES));
    } catch (err) {
      // The file changed into something that is reported on its own (missing, unreadable).
      this.refused = null;
      if (hasErrorCode(err, 'ENOENT')) this.fileMissing(atStart);
      else {
        // A system error (EACCES, EIO, EMFILE, …) may pass with the same file: forget its identity so
        // that the periodic check reads it again. A refusal of this version (not a regular file, too
        // large) would only repeat: the identity stays until the file changes.
        if (typeof (err as NodeJS.ErrnoException).code === 'string') this.lastSeen = null;
        this.health.failed(`cannot read ${this.path}: ${describeError(err)}`);
        logger.error({ path: this.path, err: describeError(err) }, `cannot read the policy file; ${whatStaysInForce(this.options.store.current)}`);
      }
      return;
    }
    // A read that outlived stop() (a hung mount) must not change the policy after the provider stopped.
    if (this.stopped) return;
    if (this.absentSince !== null) {
      logger.info({ path: this.path }, 'policy file is back');
      this.absentSince = null;
      this.absenceReported = false;
    }
    // The file is the only copy: a restart reads it again, so a refusal is a latent outage.
    const outcome = await offerPolicy(this.options.store, this.health, { text }, this.source, { restartLoadsThis: true });
    const now = Date.now();
    this.refused = outcome.kind === 'invalid' ? { at: now, remindedAt: now } : null;
  }

  /** Every `refusedReminderMs` while the version read last stays refused: a warning that says so again. */
  private remindIfRefused(): void {
    const now = Date.now();
    if (this.refused === null || now - this.refused.remindedAt < (this.options.refusedReminderMs ?? REFUSED_REMINDER_INTERVAL_MS)) return;
    this.refused.remindedAt = now;
    this.options.logger.warn({ path: this.path, refusedAt: this.refused.at },
      `the policy file is still refused; ${whatStaysInForce(this.options.store.current, true)}`);
  }

  private fileMissing(atStart: boolean): void {
    this.lastSeen = null;
    const now = Date.now();
    if (this.absentSince === null) this.absentSince = now;
    if (atStart || now - this.absentSince >= this.absenceGraceMs) {
      if (!this.absenceReported) {
        this.absenceReported = true;
        const message = `policy file ${this.path} does not exist`;
        this.health.failed(message);
        this.options.logger.error({ path: this.path }, `${message}; ${whatStaysInForce(this.options.store.current)}`);
      }
    } else {
      this.options.logger.debug({ path: this.path }, 'policy file is absent; waiting for it to reappear');
    }
    this.scheduleAbsenceCheck();
  }

  /** While the file is missing (or a directory cannot be watched), look again every `absenceGraceMs`. */
  private scheduleAbsenceCheck(): void {
    if (this.stopped || this.absenceTimer) return;
    this.absenceTimer = setTimeout(() => {
      this.absenceTimer = null;
      this.load(false, false).catch(() => {});
    }, this.absenceGraceMs);
  }

  /** Every `checkIntervalMs`: one `stat`; a read only when the identity differs from the last one read. */
  private schedulePeriodicCheck(): void {
    if (this.stopped) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = null;
      this.periodicCheck().finally(() => this.schedulePeriodicCheck());
    }, this.checkIntervalMs);
    this.checkTimer.unref();
  }

  private stat(): Promise<Stats> {
    return (this.options.statFile ?? stat)(this.path);
  }

  /**
   * Passes `work`, one file-system call, through; if it has not settled after `stalledAccessMs`,
   * records and logs that the file system is not answering, and withdraws the record when it
   * settles (the error before it, if any, is current again).
   */
  private async reportingStall<T>(what: string, work: Promise<T>): Promise<T> {
    const limitMs = this.options.stalledAccessMs ?? STALLED_ACCESS_MS;
    let message: string | null = null;
    let previous: { at: number; message: string } | null = null;
    const timer = setTimeout(() => {
      message = `the ${what} of ${this.path} has not finished after ${limitMs / 1000} s (a hung file system?)`;
      previous = this.health.status().lastError;
      this.health.failed(message);
      this.options.logger.error({ path: this.path }, `${message}; ${whatStaysInForce(this.options.store.current)}`);
    }, limitMs);
    timer.unref();
    try {
      return await work;
    } finally {
      clearTimeout(timer);
      if (message !== null) {
        this.health.withdrawn(message, previous);
        this.options.logger.info({ path: this.path }, `the ${what} of the policy file has finished`);
      }
    }
  }

  private async periodicCheck(): Promise<void> {
    let identity: string;
    try {
      identity = identityOf(await this.reportingStall('stat', this.stat()));
    } catch (err) {
      // Gone without an event: let a load start the absence handling. Missing already, or another
      // error: the absence re-check or the next change reports it, not a log line every period.
      if (hasErrorCode(err, 'ENOENT') && this.lastSeen !== null) await this.load(false, false);
      return;
    }
    if (identity !== this.lastSeen) await this.load(false, false);
    else this.remindIfRefused();
  }
}

/** What tells one version of the file from another without reading it: device, inode, size, times. */
function identityOf(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}
