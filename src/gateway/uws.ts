import { createRequire } from 'node:module';
import { CorporalError } from '../common/errors.js';

/** The uWebSockets.js module API (types from the pinned package). */
export type Uws = typeof import('@trufflesuite/uws-js-unofficial');

const require = createRequire(import.meta.url);
const PACKAGE = '@trufflesuite/uws-js-unofficial';

/**
 * Loads uWebSockets.js' native build for this platform and Node ABI.
 *
 * The package's own entry point silently falls back to a slow pure-Node implementation when the
 * native module cannot load (wrong glibc, ABI or architecture). A gateway on that fallback would
 * run at a fraction of the expected throughput without anyone noticing, so we load the binary
 * ourselves and refuse to start unless the operator explicitly allowed the fallback
 * (`HttpGateway.AllowUwsFallback`).
 */
export function loadUws(allowFallback: boolean): { uws: Uws; native: boolean } {
  const binary = `${PACKAGE}/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return { uws: require(binary) as Uws, native: true };
  } catch (cause) {
    if (!allowFallback) {
      throw new CorporalError(
        'CORP_ERR_UWS_NATIVE_MISSING',
        `uWebSockets.js has no working native build for ${process.platform}/${process.arch}, Node ABI ` +
          `${process.versions.modules} (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}). ` +
          'Corporal refuses to run on the slow fallback; use Node 20 on glibc ≥ 2.27 (x64/arm64), ' +
          'or set HttpGateway.AllowUwsFallback to true to accept degraded performance.',
        { source: 'config', cause },
      );
    }
    const previous = process.env.UWS_USE_FALLBACK;
    process.env.UWS_USE_FALLBACK = '1';
    try {
      return { uws: require(PACKAGE) as Uws, native: false };
    } finally {
      if (previous === undefined) delete process.env.UWS_USE_FALLBACK;
      else process.env.UWS_USE_FALLBACK = previous;
    }
  }
}
