import { createServer } from 'node:net';

/**
 * The ports handed out: 20000–32767, below Linux's default ephemeral range (32768–60999). The
 * kernel takes ephemeral ports for every outgoing connection and every `listen(0)`, and the tests
 * make thousands of loopback connections: a port the kernel picked for a throw-away listener could
 * be given to some other process's outgoing connection before the server the test starts binds it
 * ("address in use"). Ports below the range are never picked by the kernel, so only another test
 * file picking the same one at random in the same moment can take it.
 */
const FIRST_PORT = 20_000;
const PORT_COUNT = 12_768;

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
