import { firstQueryValue } from '../query.js';

/** The two timeout settings of the configuration the proxy uses. */
export interface ProxyTimeoutConfig {
  /** `Matrix.TimeoutMilliseconds`: the upstream must answer (send headers) within this. */
  upstreamMs: number;
  /** `HttpGateway.TimeoutMilliseconds`: cap on one whole exchange (≥ `upstreamMs`). */
  exchangeMs: number;
}

/** The timeouts of one proxied exchange. */
export interface ExchangeTimeouts {
  /** Response headers must arrive within this after the request (body) was sent (undici `headersTimeout`). */
  headersMs: number;
  /** Cap on the whole exchange, except while bodies keep moving (see {@link idleMs}). */
  capMs: number;
  /**
   * Past the cap, an exchange lives on only while a body chunk moved (either way) within the
   * last `idleMs`; this is also undici's `bodyTimeout` (upstream silence within a response body).
   */
  idleMs: number;
}

/** Routes whose requests wait server-side for up to the client's `timeout` query parameter. */
const LONG_POLL_ROUTES: ReadonlySet<string> = new Set(['sync', 'sync.sliding', 'events']);

/** True for `/sync`, sliding sync and `/events`: they go to the long-poll pool. */
export function isLongPoll(routeId: string): boolean {
  return LONG_POLL_ROUTES.has(routeId);
}

/**
 * Timeouts for a request. Long-polls get the client's own `timeout` (ms, as Synapse parses it,
 * capped at `exchangeMs`) on top of the upstream budget, because Synapse deliberately sends nothing
 * until then; their exchange cap grows to match. Everything else: headers within `upstreamMs`,
 * the whole exchange within `exchangeMs`.
 */
export function exchangeTimeouts(routeId: string, rawQuery: string, config: ProxyTimeoutConfig): ExchangeTimeouts {
  let headersMs = config.upstreamMs;
  if (LONG_POLL_ROUTES.has(routeId)) {
    const wait = longPollWaitMs(rawQuery);
    if (wait > 0) headersMs += Math.min(wait, config.exchangeMs);
  }
  return { headersMs, capMs: Math.max(config.exchangeMs, headersMs), idleMs: config.upstreamMs };
}

/**
 * The `timeout` query parameter as Synapse's `parse_integer` reads it (Python `int()` of the first
 * value: surrounding whitespace, a `+` sign and `_` between digits allowed); 0 when absent or
 * invalid (Synapse then answers at once or with 400).
 */
export function longPollWaitMs(rawQuery: string): number {
  const raw = firstQueryValue(rawQuery, 'timeout');
  if (raw === null) return 0;
  const text = raw.trim();
  let digits = '';
  let previousDigit = false;
  for (let i = text.startsWith('+') ? 1 : 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      digits += text[i];
      previousDigit = true;
    } else if (c === 0x5f /* _ */ && previousDigit && i + 1 < text.length) {
      previousDigit = false;
    } else {
      return 0;
    }
  }
  if (digits === '' || !previousDigit) return 0;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : Number.MAX_SAFE_INTEGER;
}
