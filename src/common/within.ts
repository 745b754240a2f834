import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `promise`'s value, or undefined once `ms` have passed without it (`promise` itself goes on; a
 * rejection before then is passed on). The timer is cancelled as soon as either settles, so a
 * settled wait does not keep the process alive for the rest of `ms`.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise, sleep(ms, undefined, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}
