/**
 * Start-up check that every listen address is free, done once by the supervisor before any gateway
 * thread or the control child starts.
 *
 * Why: the gateway threads share one port through SO_REUSEPORT (uWebSockets.js sets it on every
 * listen socket), so a second `corporal serve` on the same `HttpGateway.ListenAddress` would bind
 * without error and the kernel would split client connections between two instances that may
 * enforce different policies, or none. A plain Node.js listener (no SO_REUSEPORT) cannot bind a
 * port anyone is listening on, reuse-port or not: it fails with EADDRINUSE as Go's `net.Listen`
 * does in matrix-corporal. For the HTTP API the probe turns a clash into a fatal start-up error
 * instead of a control child restarted forever.
 *
 * Residual race: the probe's socket is closed before the threads bind (it cannot be handed over to
 * uWS), so two instances started at the same moment can both pass it and then both bind with
 * SO_REUSEPORT. The window runs from the probe until the threads listen (milliseconds to a few
 * hundred), and for the HTTP API until the control child has loaded the policy. Restarts of a
 * thread or of the control child after start-up are not probed.
 */
import { createServer, type Server } from 'node:net';
import { CorporalError } from '../common/errors.js';
import { parseListenAddress } from '../common/listen-address.js';

/** One address to probe: the configuration key it comes from (for the message) and its value. */
export interface ListenProbeTarget {
  key: string;
  address: string;
}

/**
 * Binds every target at once with an exclusive plain listener, then closes them all. Rejects with
 * `CORP_ERR_LISTEN_UNAVAILABLE` naming the key and address when one cannot be bound (in use,
 * permission denied, address not local, …). Port 0 (any free port) is not probed.
 */
export async function probeListenAddresses(targets: readonly ListenProbeTarget[]): Promise<void> {
  const servers: Server[] = [];
  try {
    for (const target of targets) {
      const parsed = parseListenAddress(target.address);
      if (parsed === null) throw unavailable(target, 'is not a valid host:port');
      if (parsed.port === 0) continue;
      servers.push(await bindExclusive(target, parsed.host, parsed.port));
    }
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function bindExclusive(target: ListenProbeTarget, host: string | null, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => reject(unavailable(target, reasonOf(err), err)));
    // `exclusive` keeps a cluster worker from sharing the primary's handle; reusePort stays off.
    server.listen({ host: host ?? undefined, port, exclusive: true }, () => resolve(server));
  });
}

function reasonOf(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'is already in use (is another corporal instance, or another server, listening on it?)';
    case 'EACCES':
      return 'cannot be bound: permission denied (ports below 1024 need privileges)';
    default:
      return `cannot be bound: ${err.code ?? err.message}`;
  }
}

function unavailable(target: ListenProbeTarget, reason: string, cause?: unknown): CorporalError {
  return new CorporalError('CORP_ERR_LISTEN_UNAVAILABLE', `${target.key} ${target.address} ${reason}`, { source: 'config', cause });
}
