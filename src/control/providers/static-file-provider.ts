import { watch, type FSWatcher, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';
import type { PolicyStore } from '../policy-store.js';
import { ProviderHealth, offerPolicy, type PolicyProvider, type ProviderStatus } from './provider.js';
import { readBoundedFile } from '../../common/bounded-file.js';
import { MAX_POLICY_BYTES } from '../policy-limits.js';

/** What {@link StaticFileProvider} needs. */
export interface StaticFileProviderOptions {
  /** `PolicyProvider.Path` (relative paths resolve from the working directory). */
  path: string;
  store: PolicyStore;
  logger: Logger;
  /** Quiet time after the last file-system event before the file is read. Default 1000 ms. */
  debounceMs?: number;
  /** How long the file may be missing before that is reported as an error; also the re-check period. Default 5000 ms. */
  absenceGraceMs?: number;
}

/**
 * `static_file`: loads `Path` at start and whenever it changes.
 *
 * It watches the file's **directory**, not the file (matrix-corporal watched the file and lost the
 * watch when an editor replaced it): every way of changing the file — in-place write, rename over
 * it, delete and re-create, a Kubernetes ConfigMap's symlink swap — shows up as an event in the
 * directory. Events are debounced; then the file is `stat`ed and read only when its identity, size
 * or times changed, so unrelated activity in the directory costs a `stat`. The store ignores
 * content it already has, so a spurious read changes nothing.
 *
 * A missing file is not an error at first (an editor may be between delete and re-create): it is
 * re-checked every `absenceGraceMs` and reported once that long has passed. The current policy
 * stays in force meanwhile.
 */
export class StaticFileProvider implements PolicyProvider {
  readonly type = 'static_file' as const;
  private readonly path: string;
  private readonly source: string;
  private readonly health = new ProviderHealth('static_file');
  private readonly debounceMs: number;
  private readonly absenceGraceMs: number;
  private watcher: FSWatcher | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private absenceTimer: NodeJS.Timeout | null = null;
  private absentSince: number | null = null;
  private absenceReported = false;
  /** Identity of the file version last read (dev, inode, size, times). */
  private lastSeen: string | null = null;
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: StaticFileProviderOptions) {
    this.path = resolve(options.path);
    this.source = `static_file:${this.path}`;
    this.debounceMs = options.debounceMs ?? 1000;
    this.absenceGraceMs = options.absenceGraceMs ?? 5000;
  }

  /** Watches the file's directory, then loads the file once (a missing file is not an error yet). */
  async start(): Promise<void> {
    this.watchDirectory();
    await this.load(true, true);
  }

  /** Reads the file again now, even if it looks unchanged (the API's provider reload). */
  reload(): Promise<void> {
    return this.load(true, false);
  }

  /** Stops watching, cancels pending timers and waits for a load in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.closeWatcher();
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.absenceTimer) clearTimeout(this.absenceTimer);
    this.debounceTimer = null;
    this.absenceTimer = null;
    await this.loading;
  }

  /** The provider's health: last success, last error. */
  status(): ProviderStatus {
    return this.health.status();
  }

  private watchDirectory(): void {
    this.closeWatcher();
    const dir = dirname(this.path);
    try {
      const watcher = watch(dir, { persistent: false }, () => this.scheduleLoad());
      watcher.on('error', (err) => {
        // The directory went away (or inotify gave up): keep polling until the file is back.
        this.options.logger.warn({ dir, err: describeError(err) }, 'policy directory watch failed; re-checking periodically');
        this.closeWatcher();
        this.scheduleAbsenceCheck();
      });
      this.watcher = watcher;
    } catch (err) {
      this.options.logger.warn({ dir, err: describeError(err) }, 'cannot watch the policy directory; re-checking periodically');
      this.scheduleAbsenceCheck();
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private scheduleLoad(): void {
    if (this.stopped) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      this.load(false, false).catch(() => {});
    }, this.debounceMs);
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
    let stats: Stats;
    let text: string;
    try {
      stats = await stat(this.path);
      const identity = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
      if (!force && identity === this.lastSeen) return;
      this.lastSeen = identity;
      text = await readBoundedFile(this.path, MAX_POLICY_BYTES);
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) this.fileMissing(atStart);
      else {
        this.health.failed(`cannot read ${this.path}: ${describeError(err)}`);
        logger.error({ path: this.path, err: describeError(err) }, 'cannot read the policy file; the current policy stays in force');
      }
      return;
    }
    if (this.absentSince !== null) {
      logger.info({ path: this.path }, 'policy file is back');
      this.absentSince = null;
      this.absenceReported = false;
      if (this.watcher === null) this.watchDirectory();
    }
    await offerPolicy(this.options.store, this.health, { text }, this.source);
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
        this.options.logger.error({ path: this.path },
          this.options.store.current ? `${message}; the current policy stays in force` : `${message}; running without a policy until it appears`);
      }
    } else {
      this.options.logger.debug({ path: this.path }, 'policy file is absent; waiting for it to reappear');
    }
    this.scheduleAbsenceCheck();
  }

  /** While the file is missing (or the directory cannot be watched), look again every `absenceGraceMs`. */
  private scheduleAbsenceCheck(): void {
    if (this.stopped || this.absenceTimer) return;
    this.absenceTimer = setTimeout(() => {
      this.absenceTimer = null;
      if (this.watcher === null) this.watchDirectory();
      this.load(false, false).catch(() => {});
    }, this.absenceGraceMs);
  }
}
