/**
 * One deadline for a whole outbound exchange (connect, headers and the complete body). undici's
 * own `headersTimeout`/`bodyTimeout` are per phase and the body timer restarts on every chunk, so a
 * peer trickling its answer could hold a call open far longer than its limit.
 */

/**
 * Runs `work` with a signal that aborts after `ms` (with an `Error` whose message `describe()`
 * gives), or as soon as `linked` aborts (with its reason). The timer and the link are removed as
 * soon as `work` settles. Not `AbortSignal.timeout`: its timer outlives the call by the whole
 * timeout, and under a stream of calls (new tokens, hook consultations) hundreds of thousands of
 * them piled up. Not `AbortSignal.any` for the link: on Node 20 it costs tens of microseconds per
 * call, paid on every token look-up.
 */
export async function withDeadline<T>(ms: number, describe: () => string, work: (signal: AbortSignal) => Promise<T>, linked?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(describe())), ms);
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
