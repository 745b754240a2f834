import { cachedGet, cachedGetUnix, send1k, tokenMiss } from './http-load.js';
import { download50m, download50mSingle, upload50m, upload50mSingle } from './streaming.js';
import { longPoll5000 } from './long-poll.js';
import { putPassthrough1k } from './policy-checked.js';
import { cachedGet20Hooks, hookConsultInThread, hookConsultPooled } from './hooks.js';
import { floorLlhttp, floorSocket, floorUndici } from './floor.js';
import type { Scenario } from './scenario.js';

/** Every scenario `bench/run.ts` knows, in the order they run. Add new ones here. */
export const SCENARIOS: readonly Scenario[] = [
  cachedGet, cachedGetUnix, floorUndici, floorSocket, floorLlhttp, tokenMiss, send1k, putPassthrough1k, cachedGet20Hooks, hookConsultPooled, hookConsultInThread, download50mSingle, upload50mSingle, download50m, upload50m, longPoll5000,
];
