import type { Logger } from '../../common/logger.js';
import { describeError, hasErrorCode } from '../../common/errors.js';
import type { CurrentPolicy, PolicyStore } from '../policy-store.js';
import { writeFileAtomic } from './atomic-write.js';
import { removeStaleTempFiles } from './stale-temp-files.js';
import { reportCacheDirectory } from './cache-directory.js';
import { restrictPolicyFileMode } from './policy-file-mode.js';
import { ProviderHealth, offerPolicy, type PolicyProvider, type ProviderStatus } from './provider.js';
import { readBoundedFile } from '../../common/bounded-file.js';
import { MAX_POLICY_BYTES } from '../policy-limits.js';
import { parsePolicyText } from '../../policy/parse.js';

/** What {@link LastSeenProvider} needs. */
export interface LastSeenProviderOptions {
  /** `PolicyProvider.CachePath`. */
  cachePath: string;
  store: PolicyStore;
  logger: Logger;
}

/**
 * `last_seen_store_policy`, for deployments that push policies through the API: restores the last
 * accepted policy from `CachePath` at start (a missing file means "none yet"), then saves every
 * policy the store accepts, from any source, atomically and in acceptance order, as a persister of
 * the store (a push is answered only once saved; pushing the same policy again retries a failed
 * save). `reload()` does nothing: there is no origin to reload from.
 *
 * After a control-child restart the store may already hold the policy the supervisor kept (a push
 * newer than the file, or one whose save failed): the file is then not read, and that policy is
 * saved instead. Leftover temporary files of a crashed save are removed at start.
 */
export class LastSeenProvider implements PolicyProvider {
  readonly type = 'last_seen_store_policy' as const;
  private readonly health = new ProviderHealth('last_seen_store_policy');
  private readonly source: string;
  private unsubscribe: (() => void) | null = null;
  /** Hash of what the file holds, so restoring it does not write it back. */
  private savedHash: string | null = null;
  /**
   * The last save queued. Saves run one after another on this chain, so the file ends with the
   * newest policy even when the store stops waiting for a save that hangs (see `PolicyStore`).
   */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: LastSeenProviderOptions) {
    this.source = `last_seen_store_policy:${options.cachePath}`;
  }

  async start(): Promise<void> {
    const { cachePath, logger, store } = this.options;
    await reportCacheDirectory(cachePath, logger, 'every save will fail (a push answers 500), and no policy will survive a restart');
    await removeStaleTempFiles(cachePath, logger);
    await restrictPolicyFileMode(cachePath, logger);
    this.unsubscribe = store.addPersister((policy) => this.save(policy));
    const restored = store.current;
    if (restored !== null) {
      logger.info({ cachePath, generation: restored.generation }, 'keeping the policy restored after a control-child restart; saving it instead of reading the file');
      await this.save(restored).catch(() => {});
      return;
    }
    let text: string;
    try {
      text = await readBoundedFile(cachePath, MAX_POLICY_BYTES);
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) {
        logger.info({ cachePath }, 'no saved policy yet; waiting for one to be pushed');
      } else {
        this.health.failed(`cannot read ${cachePath}: ${describeError(err)}`);
        logger.error({ cachePath, err: describeError(err) }, 'cannot read the saved policy; waiting for one to be pushed');
      }
      return;
    }
    await offerPolicy(store, this.health, { text }, this.source);
  }

  async reload(): Promise<void> {
    this.options.logger.info('last_seen_store_policy provider: ignoring reload (nothing to reload from)');
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.writing.catch(() => {});
  }

  status(): ProviderStatus {
    return this.health.status();
  }

  /** Writes `policy` unless the file holds it already; rejects (message without secrets) when the write fails. */
  private save(policy: CurrentPolicy): Promise<void> {
    const { cachePath, logger } = this.options;
    if (policy.source === this.source) {
      // Restored from the file itself: nothing to write back.
      this.savedHash = policy.hash;
      return Promise.resolve();
    }
    const write = this.writing.catch(() => {}).then(async () => {
      if (policy.hash === this.savedHash) return;
      try {
        await writeFileAtomic(cachePath, strictJson(policy.text));
      } catch (err) {
        const message = `cannot save the policy to ${cachePath}: ${describeError(err)}`;
        this.health.failed(message);
        logger.error({ cachePath, err: describeError(err) }, 'cannot save the policy; it will not survive a restart (pushing it again retries)');
        throw new Error(message);
      }
      this.savedHash = policy.hash;
      this.health.succeeded();
      logger.debug({ cachePath, generation: policy.generation }, 'policy saved');
    });
    this.writing = write;
    return write;
  }
}

/**
 * The policy as strict JSON: the text as received when it is strict already, else re-serialised.
 * Corporal accepts trailing commas (as matrix-corporal's README example has them), but
 * matrix-corporal itself cannot read such a saved file back, and an operator rolling back to it
 * would have a policy it refuses at start-up.
 */
function strictJson(text: string): string {
  const parsed = parsePolicyText(text);
  return parsed.ok && parsed.warnings.length > 0 ? JSON.stringify(parsed.value) : text;
}
