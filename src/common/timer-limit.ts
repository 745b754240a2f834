/**
 * The largest delay a Node timer takes: 2^31 − 1 ms, about 24.8 days. A larger one fires at once
 * (with a warning), so every configured or policy duration is capped here: beyond it a value is a
 * mistake, never a wish.
 */
export const MAX_TIMER_MS = 2_147_483_647;
