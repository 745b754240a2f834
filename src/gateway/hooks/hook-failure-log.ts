import type { Logger } from '../../common/logger.js';
import { CLIENT_TRIGGERED_LOG_INTERVAL_MS, LogThrottle } from '../../common/log-throttle.js';

/**
 * Where a thread's hook failures are logged. Any client can make a hook fail on every request it
 * sends — a body that is not a JSON object for a JSON injection, or simply a request to a route
 * whose REST service is down — and operators alert on error lines (docs/deployment.md §5), so
 * neither kind may write a line per request (quality review 17b). Failures the client caused are
 * warnings; the rest (the service, the policy) stay errors. Each kind is let through once per
 * {@link CLIENT_TRIGGERED_LOG_INTERVAL_MS} per thread, with the count held back (`suppressed`).
 */
export class HookFailureLog {
  readonly #clientCaused = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  readonly #otherwise = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);
  readonly #consultations = new LogThrottle(CLIENT_TRIGGERED_LOG_INTERVAL_MS);

  constructor(private readonly logger: Logger) {}

  /** Records one failure; `fields` name the hook, event type, method, path and reason (never a payload). */
  failed(fields: Record<string, unknown>, clientCaused: boolean, msg: string): void {
    const suppressed = (clientCaused ? this.#clientCaused : this.#otherwise).admit();
    if (suppressed === null) return;
    if (clientCaused) this.logger.warn({ ...fields, suppressed }, msg);
    else this.logger.error({ ...fields, suppressed }, msg);
  }

  /**
   * A REST consultation that failed without failing the request (an async one, or one with a
   * contingency hook): a warning, throttled like the failures (a service that is down fails every
   * request's consultation).
   */
  consultationFailed(fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.#consultations.admit();
    if (suppressed !== null) this.logger.warn({ ...fields, suppressed }, msg);
  }
}
