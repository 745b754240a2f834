/**
 * Undo steps of a script that starts things (a Synapse, a Corporal, a temp directory): run in the
 * reverse order of {@link Teardown.add}, each once, a failing step not keeping the others from
 * running — so that a failure half-way through start-up still stops what had started.
 */
export class Teardown {
  readonly #steps: Array<() => unknown> = [];
  #run: Promise<string[]> | null = null;

  /** Registers `step` to run at teardown, before every step added earlier. */
  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  /**
   * Runs every step (last added first) and resolves with the messages of those that failed. Runs
   * them only once: later calls get the same promise.
   */
  run(): Promise<string[]> {
    this.#run ??= (async () => {
      const failures: string[] = [];
      for (const step of [...this.#steps].reverse()) {
        try {
          await step();
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
      return failures;
    })();
    return this.#run;
  }
}
