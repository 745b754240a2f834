import type { Logger } from '../../common/logger.js';
import type { PlanWarning } from '../plan/types.js';

/**
 * Logs the planner's warnings: one `reconciliation plan warning` line (warn) per warning, its text
 * in `detail` (the message stays fixed, for log queries), and each warning once per policy
 * generation. A condition the operator has to fix (a room Corporal is not in, a level it cannot
 * set) is planned again by every run — resyncs, retries, runs over changed users — and logging it
 * each time buried the log (day-2 review 19, #10); repeats go to debug, and `/status` shows the last
 * run's warnings in full.
 */
export class PlanWarningLog {
  #generation = -1;
  readonly #seen = new Set<string>();

  /** Logs `warnings` of a plan made on policy `generation`. */
  log(logger: Logger, generation: number, warnings: readonly PlanWarning[]): void {
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#seen.clear();
    }
    for (const warning of warnings) {
      const fields = { code: warning.code, userId: warning.userId, roomId: warning.roomId, detail: warning.message };
      const key = `${warning.code}\0${warning.userId}\0${warning.roomId ?? ''}\0${warning.message}`;
      if (this.#seen.has(key)) {
        logger.debug(fields, 'reconciliation plan warning (repeated)');
        continue;
      }
      this.#seen.add(key);
      logger.warn(fields, 'reconciliation plan warning');
    }
  }
}
