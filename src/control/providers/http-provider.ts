import { stat } from 'node:fs/promises';
import { interceptors, request, type Dispatcher } from 'undici';
import { takeBasicAuth } from '../../common/service-url.js';
import { createOutboundAgent } from '../../common/outbound-agent.js';
import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';
import { backoffDelay, type BackoffOptions } from '../../common/backoff.js';
import type { PolicyStore } from '../policy-store.js';
import { writeFileAtomic } from './atomic-write.js';
import { removeStaleTempFiles } from './stale-temp-files.js';
import { reportCacheDirectory } from './cache-directory.js';
import { restrictPolicyFileMode } from './policy-file-mode.js';
import { ProviderHealth, deliveredHash, offerPolicy, type PolicyProvider, type ProviderStatus } from './provider.js';
import { MAX_POLICY_BYTES } from '../policy-limits.js';
import { BodyLimitExceededError } from '../../common/bounded-body.js';
import { readBoundedDecodedText } from '../../common/decoded-body.js';
import { SERVICE_CLIENT_HEADERS } from '../../common/service-client.js';
import { DeadlineExceededError, withDeadline } from '../../common/deadline.js';
import { readBoundedFile } from '../../common/bounded-file.js';
import { within } from '../../common/within.js';

/** Used when `TimeoutMilliseconds` is null or ≤ 0: matrix-corporal then had no timeout at all. */
export const DEFAULT_HTTP_PROVIDER_TIMEOUT_MS = 60_000;

/**
 * How long the start-up fetch runs before a usable `CachePath` copy is put in force meanwhile (or
 * the configured timeout, if shorter). Why: until the first load attempt is over the control child
 * has no policy and the gateway answers 503 to everyone, so a policy server that hangs at start
 * would cost a full outage of the whole fetch timeout (60 s by default) although the cache could be
 * enforced (operator review 19, finding 5). A healthy policy server answers in well under a second;
 * 5 s still tolerates a slow one, and bounds the outage at a restart to about what the restart
 * itself costs. The fetch itself keeps the full timeout, so a slow but working server's answer
 * replaces the cache when it comes.
 */
export const CACHED_START_FETCH_TIMEOUT_MS = 5_000;

/** Retries while no remote fetch has succeeded yet: 1 s doubling to 60 s, jittered. */
const START_RETRY: BackoffOptions = { initialMs: 1000, maxMs: 60_000, jitter: true };

/** What {@link HttpProvider} needs (the `PolicyProvider` keys, already validated). */
export interface HttpProviderOptions {
  uri: string;
  /** Sent as `Authorization: Bearer …`; null (or "") sends no header. */
  bearerToken: string | null;
  /** Fallback copy of the last valid remote policy; null: none. */
  cachePath: string | null;
  /** Poll period; null or ≤ 0: no polling. */
  reloadIntervalMs: number | null;
  /** Whole-fetch time limit; null or ≤ 0: {@link DEFAULT_HTTP_PROVIDER_TIMEOUT_MS}. */
  timeoutMs: number | null;
  store: PolicyStore;
  logger: Logger;
  /** Largest policy body accepted. Default {@link MAX_POLICY_BYTES}. */
  maxBytes?: number;
  /** Retry schedule while the remote has never answered (tests shorten it). */
  startRetry?: BackoffOptions;
  /** How long the start-up fetch runs before a usable cache is put in force meanwhile. Default {@link CACHED_START_FETCH_TIMEOUT_MS}. */
  cachedStartTimeoutMs?: number;
}

type FetchResult = { kind: 'policy'; text: string; etag: string | null } | { kind: 'not-modified' };

/**
 * `http`: pulls the policy with `GET Uri`.
 *
 * - Every fetch has a time limit (matrix-corporal had none when `TimeoutMilliseconds` was unset) and
 *   a body size bound; only status 200 counts (304 when revalidating); up to 5 redirects are
 *   followed, and the `Authorization` header is dropped when one leaves the origin.
 * - Periodic polls revalidate with `If-None-Match` when the policy in force is the one that ETag
 *   belongs to: a 304 then costs nothing (no parse, no new generation, no reconciliation). An
 *   explicit {@link reload} always fetches the full body.
 * - At start: the remote first, then `CachePath`. With a usable cache, the cache is put in force
 *   once the first fetch has run {@link CACHED_START_FETCH_TIMEOUT_MS} without an answer, so a hung
 *   policy server does not keep the gateway without a policy for a whole fetch timeout; that fetch
 *   goes on, and its answer replaces the cache when it comes. The cache is written only **after** the store
 *   accepted the remote policy (matrix-corporal wrote it before validating, so one bad remote
 *   policy replaced a good cache, bug 17), atomically.
 * - Until a first remote fetch succeeds, it is retried with backoff (independent of
 *   `ReloadIntervalSeconds`), so a remote that is down at start is picked up once it is back.
 * - Like matrix-corporal's Go client, it honours `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`
 *   (common/outbound-agent.ts).
 * - The URI's query and user-info never reach logs or the policy source label (they may hold
 *   credentials).
 */
export class HttpProvider implements PolicyProvider {
  readonly type = 'http' as const;
  private readonly health = new ProviderHealth('http');
  private readonly dispatcher: Dispatcher;
  private readonly agent: Dispatcher;
  private readonly source: string;
  private readonly cacheSource: string | null;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly stopController = new AbortController();
  private etag: { value: string; hash: string } | null = null;
  /** Hash of the policy in the cache file (null: unknown or none). */
  private cachedHash: string | null = null;
  private remoteSucceeded = false;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** Basic credentials from the URI's user info (null: none); see {@link fetchPolicy}. */
  private readonly basicAuth: string | null;
  /** A reload queued behind the load in progress, not started yet: later reloads join it ({@link reload}). */
  private pendingReload: Promise<void> | null = null;
  private stopped = false;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: HttpProviderOptions) {
    // undici's default connect limit; the whole fetch is bounded by `timeoutMs` anyway.
    this.agent = createOutboundAgent({ connectTimeoutMs: 10_000, agent: { connections: 2 } });
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: 5 }));
    this.source = `http:${safeUri(options.uri)}`;
    this.cacheSource = options.cachePath === null ? null : `http-cache:${options.cachePath}`;
    this.timeoutMs = options.timeoutMs !== null && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_HTTP_PROVIDER_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? MAX_POLICY_BYTES;
    this.basicAuth = basicAuthOf(options.uri);
  }

  async start(): Promise<void> {
    if (this.options.cachePath !== null) {
      await reportCacheDirectory(this.options.cachePath, this.options.logger, 'the cache will not be written, and a restart will have no copy to fall back on');
      await removeStaleTempFiles(this.options.cachePath, this.options.logger);
      await restrictPolicyFileMode(this.options.cachePath, this.options.logger);
    }
    // With a cache to fall back on, the first fetch may not keep the gateway at 503 for long.
    const cacheAfterMs = (await this.cacheUsable())
      ? Math.min(this.timeoutMs, this.options.cachedStartTimeoutMs ?? CACHED_START_FETCH_TIMEOUT_MS)
      : null;
    let firstAttemptOver: () => void = () => undefined;
    const over = new Promise<void>((resolve) => {
      firstAttemptOver = resolve;
    });
    // The load goes on in the chain after start() returns when the cache was put in force while
    // the first fetch runs: reloads and polls queue behind it, as behind any load.
    // The chain settles either way: also when stop() came first and the task never ran.
    void this.serialised(async () => {
      try {
        await this.firstLoad(cacheAfterMs, firstAttemptOver);
      } finally {
        this.scheduleNext();
      }
    }).finally(firstAttemptOver);
    await over;
  }

  /**
   * The start-up load: the remote, with the full timeout; if that fails or its policy is invalid,
   * the cache. When the cache exists and the remote has not answered within `cacheAfterMs`, the
   * cache is put in force at once and `attemptOver` called (start() returns: the gateway enforces
   * the cache instead of answering 503 to everyone), while the same fetch goes on: a slow policy
   * server's answer is taken when it comes, and a corrupt cache costs no second fetch (verification
   * 19, finding 5: that fetch used to be abandoned at the short deadline and redone after a backoff).
   * A late answer replaces only what start-up put in force: once anything else was set (a push
   * through the API), it is dropped and the next fetch, a second later, decides.
   */
  private async firstLoad(cacheAfterMs: number | null, attemptOver: () => void): Promise<void> {
    const fetching = this.fetchLogged(false, this.timeoutMs);
    if (cacheAfterMs !== null && (await within(fetching, cacheAfterMs)) === undefined) {
      this.options.logger.warn({ source: this.source }, `the policy server has not answered within ${cacheAfterMs} ms; enforcing the cached copy meanwhile`);
      await this.loadCache();
      const inForce = this.options.store.current?.generation ?? 0;
      attemptOver();
      const late = await fetching;
      if (late === null) return;
      if ((this.options.store.current?.generation ?? 0) !== inForce) {
        this.options.logger.info({ source: this.source }, 'the policy server answered after another policy was set; the next fetch decides');
        return;
      }
      await this.accept(late);
      return;
    }
    const result = await fetching;
    if (result === null || !(await this.accept(result))) await this.loadCache();
  }

  /**
   * Fetches the full policy (after the load in progress). Reloads asked for while one waits to
   * start join it: while the remote hangs, each would otherwise add a whole fetch timeout to the
   * queue that the periodic polls wait behind (20 reloads at the 60 s default: 20 minutes; soak
   * review 18, S9). One asked for while a fetch runs still gets a fetch of its own, after it.
   */
  reload(): Promise<void> {
    this.pendingReload ??= this.serialised(async () => {
      this.pendingReload = null;
      await this.pull(false);
    });
    return this.pendingReload;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.stopController.abort();
      await this.chain;
      await this.agent.close();
    })();
    return this.stopping;
  }

  status(): ProviderStatus {
    return this.health.status();
  }

  /** Loads run one at a time, in order (matrix-corporal's mutex). */
  private serialised(task: () => Promise<void>): Promise<void> {
    const next = this.chain.then(() => (this.stopped ? undefined : task()));
    this.chain = next.catch((err) => this.options.logger.error({ err: describeError(err) }, 'http policy provider failed'));
    return this.chain;
  }

  /** Polls every `ReloadIntervalSeconds`; until the remote first succeeds, retries sooner with backoff. */
  private scheduleNext(): void {
    if (this.stopped) return;
    const interval = this.options.reloadIntervalMs !== null && this.options.reloadIntervalMs > 0 ? this.options.reloadIntervalMs : null;
    let delay = interval;
    if (!this.remoteSucceeded) {
      const retry = backoffDelay(Math.max(this.failures - 1, 0), this.options.startRetry ?? START_RETRY);
      delay = interval === null ? retry : Math.min(retry, interval);
    }
    if (delay === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.serialised(async () => {
        await this.pull(true);
        this.scheduleNext();
      }).catch(() => {});
    }, delay);
    this.timer.unref();
  }

  /**
   * One remote fetch offered to the store; true when the store now holds the remote policy.
   * `timeoutMs`: the fetch's deadline (the configured one unless the start-up fetch has a cache).
   */
  private async pull(revalidate: boolean, timeoutMs = this.timeoutMs): Promise<boolean> {
    const result = await this.fetchLogged(revalidate, timeoutMs);
    return result !== null && (await this.accept(result));
  }

  /** One remote fetch; null when it failed (counted, logged, in the health status) or the provider stopped. */
  private async fetchLogged(revalidate: boolean, timeoutMs: number): Promise<FetchResult | null> {
    try {
      return await this.fetchPolicy(revalidate, timeoutMs);
    } catch (err) {
      if (this.stopped) return null;
      this.failures += 1;
      const message = `fetching ${safeUri(this.options.uri)} failed: ${describeError(err)}`;
      this.health.failed(message);
      this.options.logger.warn({ source: this.source, failures: this.failures }, message);
      return null;
    }
  }

  /** Offers a fetched policy to the store (a 304 confirms the one in force); true when the store now holds the remote policy. */
  private async accept(result: FetchResult): Promise<boolean> {
    const { logger, store } = this.options;
    if (result.kind === 'not-modified') {
      this.health.succeeded();
      this.remoteSucceeded = true;
      this.failures = 0;
      logger.debug({ source: this.source }, 'remote policy not modified');
      return true;
    }
    // Without a cache, a restart fetches this same remote policy again: nothing else to fall back on.
    const outcome = await offerPolicy(store, this.health, { text: result.text }, this.source, { restartLoadsThis: this.options.cachePath === null });
    if (outcome.kind === 'invalid') {
      this.failures += 1;
      return false;
    }
    this.remoteSucceeded = true;
    this.failures = 0;
    const hash = deliveredHash(outcome);
    this.etag = result.etag === null ? null : { value: result.etag, hash };
    await this.writeCache(result.text, hash);
    return true;
  }

  private async fetchPolicy(revalidate: boolean, timeoutMs: number): Promise<FetchResult> {
    const headers: Record<string, string> = { accept: 'application/json', ...SERVICE_CLIENT_HEADERS };
    if (this.options.bearerToken !== null) headers['authorization'] = `Bearer ${this.options.bearerToken}`;
    // Without a bearer token, user info in the URI is sent as Basic auth, as Go's client did when
    // no Authorization header was set (the config check refuses a malformed one: verification 18, V2).
    else if (this.basicAuth !== null) headers['authorization'] = this.basicAuth;
    const conditional = revalidate && this.etag !== null && this.options.store.current?.hash === this.etag.hash;
    if (conditional) headers['if-none-match'] = this.etag!.value;
    // withDeadline, not `AbortSignal.any` over the provider's long-lived stop signal: on Node 20
    // each `any` left an entry in that signal's dependants for good (one per poll).
    return withDeadline(timeoutMs, () => `no complete answer within ${timeoutMs} ms`, async (signal) => {
      try {
        return await this.fetchOnce(headers, conditional, signal, timeoutMs);
      } catch (err) {
        // undici may report the abort in its own words; the deadline's message says what happened.
        if (signal.aborted && signal.reason instanceof DeadlineExceededError) throw signal.reason;
        throw err;
      }
    }, this.stopController.signal);
  }

  private async fetchOnce(headers: Record<string, string>, conditional: boolean, signal: AbortSignal, timeoutMs: number): Promise<FetchResult> {
    const response = await request(this.options.uri, {
      method: 'GET',
      headers,
      signal,
      dispatcher: this.dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (conditional && response.statusCode === 304) {
      await response.body.dump();
      return { kind: 'not-modified' };
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`unexpected HTTP status ${response.statusCode} (only 200 is accepted)`);
    }
    let text: string;
    try {
      text = await readBoundedDecodedText(response.body, response.headers, this.maxBytes);
    } catch (err) {
      if (err instanceof BodyLimitExceededError) throw new Error(`the policy is larger than ${this.maxBytes} bytes`);
      throw err;
    }
    const etag = response.headers['etag'];
    return { kind: 'policy', text, etag: typeof etag === 'string' && etag !== '' ? etag : null };
  }

  /**
   * Whether `CachePath` holds something to fall back on: a non-empty regular file. Its content is
   * not validated here (that would parse up to 256 MiB twice); an invalid cache only means the
   * first fetch had the shorter deadline, and the retries have the full one. Nothing is loaded:
   * the remote still comes first.
   */
  private async cacheUsable(): Promise<boolean> {
    if (this.options.cachePath === null) return false;
    try {
      const stats = await stat(this.options.cachePath);
      return stats.isFile() && stats.size > 0;
    } catch {
      return false;
    }
  }

  private async loadCache(): Promise<void> {
    const { cachePath } = this.options;
    if (cachePath === null || this.cacheSource === null) return;
    let text: string;
    try {
      text = await readBoundedFile(cachePath, MAX_POLICY_BYTES);
    } catch (err) {
      const message = hasErrorCode(err, 'ENOENT') ? `no cached policy at ${cachePath}` : `cannot read the policy cache ${cachePath}: ${describeError(err)}`;
      this.options.logger.warn({ cachePath }, `${message}; running without a policy until the remote answers`);
      return;
    }
    const outcome = await this.options.store.set({ text }, this.cacheSource);
    if (outcome.kind === 'invalid') return;
    this.cachedHash = deliveredHash(outcome);
    this.options.logger.warn({ cachePath }, 'remote policy unavailable at start; using the cached copy');
  }

  private async writeCache(text: string, hash: string): Promise<void> {
    const { cachePath, logger } = this.options;
    if (cachePath === null || this.cachedHash === hash) return;
    try {
      await writeFileAtomic(cachePath, text);
      this.cachedHash = hash;
    } catch (err) {
      logger.warn({ cachePath, err: describeError(err) }, 'cannot write the policy cache');
    }
  }
}

/** The URI without user-info, query or fragment, for logs and the policy source label. */
export function safeUri(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid URI)';
  }
}

/** The Basic credentials of `uri`'s user info; null when it has none or cannot be read (the config check refuses that). */
function basicAuthOf(uri: string): string | null {
  try {
    return takeBasicAuth(new URL(uri)) ?? null;
  } catch {
    return null;
  }
}
