/**
 * One deadline for a whole outbound exchange (connect, headers and the complete body). undici's
 * own `headersTimeout`/`bodyTimeout` are per phase and the body timer restarts on every chunk, so a
 * peer trickling its answer could hold a call open far longer than its limit.
 */

/**
 * The error a {@link withDeadline} signal aborts with when the time is up: a class of its own so
 * that callers can tell "too slow" from every other failure (checked with `instanceof`, in the
 * thread that made the call; it carries no `code`, so log lines read as before).
 */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

/**
 * Runs `work` with a signal that aborts after `ms` (with a {@link DeadlineExceededError} whose
 * message `describe()` gives), or as soon as `linked` aborts (with its reason). The timer and the
 * link are removed as soon as `work` settles. Not `AbortSignal.timeout`: its timer outlives the
 * call by the whole timeout, and under a stream of calls (new tokens, hook consultations)
 * hundreds of thousands of them piled up. Not `AbortSignal.any` for the link: on Node 20 it costs
 * tens of microseconds per call, paid on every token look-up, and it leaves an entry in the
 * linked signal's set of dependants for good (a long-lived signal gathers one per call: soak 9).
 */
export async function withDeadline<T>(ms: number, describe: () => string, work: (signal: AbortSignal) => Promise<T>, linked?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceededError(describe())), ms);
  // The closure only exists when there is a signal to follow (most calls have none).
  const follow = linked === undefined ? null : (): void => controller.abort(linked.reason);
  if (linked !== undefined && follow !== null) {
    if (linked.aborted) follow();
    else linked.addEventListener('abort', follow, { once: true });
  }
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
    if (linked !== undefined && follow !== null) linked.removeEventListener('abort', follow);
  }
}

/** How {@link settleWithin} treats its timer. */
export interface SettleWithinOptions {
  /** Let the process exit while the timer runs (for waits that must not keep a stopping process up). */
  readonly unref?: boolean;
}

/**
 * Settles as `work` does, unless `ms` pass first: then with what `late()` returns, or with the
 * error it throws. The timer is cleared as soon as either settles. `work` itself is not cancelled
 * (it goes on, and its late outcome is ignored, a rejection included), so this is for waits that
 * give up, not for calls that must stop: those take a signal from {@link withDeadline}.
 */
export function settleWithin<T>(work: Promise<T>, ms: number, late: () => T, options: SettleWithinOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (err) {
        reject(err);
      }
    }, ms);
    if (options.unref === true) timer.unref();
    work.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (err: unknown) => { clearTimeout(timer); reject(err); },
    );
  });
}
