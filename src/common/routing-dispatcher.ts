/**
 * One undici Dispatcher in front of several: each request goes to the one chosen by its origin
 * (the outbound client's "directly, or through which proxy", `outbound-agent.ts`).
 */
import { Dispatcher } from 'undici';

/**
 * Dispatches each request to `route(origin)`, one of `targets`; `origin` is null when the request's
 * origin is not a URL (the chosen target's own check then refuses it). Closes and destroys every
 * target, each once however many routes share it.
 */
export class RoutingDispatcher extends Dispatcher {
  private readonly targets: readonly Dispatcher[];

  // Plain (not `#`) fields: a composed dispatcher calls these methods with another `this`.
  constructor(private readonly route: (origin: URL | null) => Dispatcher, targets: readonly Dispatcher[]) {
    super();
    this.targets = [...new Set(targets)];
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let origin: URL | null = null;
    try {
      origin = new URL(String(options.origin ?? ''));
    } catch {
      // Left to the chosen target's refusal.
    }
    return this.route(origin).dispatch(options, handler);
  }

  // One signature for undici's overloads: a promise, or the callback when one is given.
  override close(callback?: () => void): any {
    const closed = Promise.all(this.targets.map((target) => target.close())).then(() => undefined);
    if (callback === undefined) return closed;
    closed.then(callback, callback);
  }

  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): any {
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null);
    const done = typeof errOrCallback === 'function' ? errOrCallback : callback;
    const destroyed = Promise.all(this.targets.map((target) => target.destroy(err))).then(() => undefined);
    if (done === undefined) return destroyed;
    destroyed.then(done, done);
  }
}
