import type { Scenario } from './scenario.js';
import { loadWithBody, MESSAGE_1K } from './http-load.js';

/**
 * The cost of the policy-check phase on the busiest policed route. `send-1k` (http-load.ts) is
 * `PUT …/send/…` by the benchmark user, whom the bench policy manages (support/processes.ts), so it
 * takes the policy-checked path: token rule, `room.send` check, proxy. This scenario sends the same
 * 1 KiB body with the same method and token to a route that is not policy-checked (room account
 * data, the catch-all), the passthrough baseline: `send-1k` ÷ `put-passthrough-1k` through the
 * gateway is what the checks cost (target ≥ 0.8).
 */
export const putPassthrough1k: Scenario = {
  name: 'put-passthrough-1k',
  description: 'PUT …/account_data with a 1 KiB JSON body (not policy-checked; baseline of send-1k)',
  run: (target, settings) => {
    let counter = 0;
    return loadWithBody(target, settings, MESSAGE_1K, () => `/_matrix/client/v3/user/%40bench%3Alocalhost/rooms/!bench:localhost/account_data/m.bench.${counter++ % 64}`);
  },
};
