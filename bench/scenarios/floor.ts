import { startFloorProxy } from '../support/processes.js';
import { cachedGet } from './http-load.js';
import type { OwnGateway, Scenario, UpstreamSettings } from './scenario.js';

async function floorProxy(mode: 'undici' | 'socket' | 'llhttp', { upstreamPort, threads }: UpstreamSettings): Promise<OwnGateway> {
  const proxy = await startFloorProxy(mode, upstreamPort, threads);
  return { target: { kind: 'gateway', url: `http://127.0.0.1:${proxy.port}`, port: proxy.port }, pid: proxy.pid, close: () => proxy.stop() };
}

/**
 * `cached-get` through a featureless uWS + undici proxy with Corporal's thread count: the floor of
 * Corporal's stack. `cached-get` ÷ this = what Corporal's features cost on the proxy path.
 */
export const floorUndici: Scenario = {
  name: 'floor-undici',
  description: 'cached-get through a featureless uWS + undici proxy (the floor of Corporal\'s stack)',
  ownGateway: (upstream) => floorProxy('undici', upstream),
  run: cachedGet.run,
};

/** The same with bare sockets and no HTTP parsing: the floor of any Node.js proxy on this machine. */
export const floorSocket: Scenario = {
  name: 'floor-socket',
  description: 'cached-get through a featureless uWS + bare-socket proxy (the floor of any Node.js proxy)',
  ownGateway: (upstream) => floorProxy('socket', upstream),
  run: cachedGet.run,
};

/** The same with a strict HTTP/1.1 response parser (Node's built-in llhttp) over bare sockets. */
export const floorLlhttp: Scenario = {
  name: 'floor-llhttp',
  description: 'cached-get through a featureless uWS + llhttp (node) proxy',
  ownGateway: (upstream) => floorProxy('llhttp', upstream),
  run: cachedGet.run,
};
