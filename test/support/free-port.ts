import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The ports handed out: outside the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`,
 * 32768–60999 by default), from 20000 up to just below it, else (a range that starts lower) just
 * above it. The kernel takes ephemeral ports for every outgoing connection and every `listen(0)`,
 * and the tests make thousands of loopback connections: a port the kernel picked for a throw-away
 * listener could be given to some other process's outgoing connection before the server the test
 * starts binds it ("address in use"). Ports outside the range are never picked by the kernel, so
 * only another test file picking the same one at random in the same moment can take it.
 */
const [FIRST_PORT, PORT_COUNT] = portsOutsideEphemeralRange();

/** `[first, count]` of the ports {@link findFreePort} picks from (see above). */
function portsOutsideEphemeralRange(): [number, number] {
  let low = 32_768;
  let high = 60_999;
  try {
    const [first, last] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(first) && Number.isInteger(last)) [low, high] = [first!, last!];
  } catch {
    // Not Linux: its default range.
  }
  if (low - 20_000 >= 1_000) return [20_000, low - 20_000];
  if (65_535 - high >= 1_000) return [high + 1, 65_535 - high];
  throw new Error(`the ephemeral port range ${low}–${high} leaves too few ports outside it for the tests`);
}

/** Ports this process handed out, so that two calls in a row never give the same one. */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago and that the kernel will not give to an
 * outgoing connection: chosen at random below the ephemeral range (above), checked by a throw-away
 * listener that is closed before returning, never the same twice in one process. For servers that
 * cannot listen on port 0 and report back (Synapse). Another test file can still take the port in
 * between (rarely), so callers retry on "address in use".
 */
export async function findFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * PORT_COUNT);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${FIRST_PORT}–${FIRST_PORT + PORT_COUNT - 1} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
