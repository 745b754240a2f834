import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A small real HTTP server on 127.0.0.1 standing in for (or in front of) the homeserver. */
export interface HttpUpstream {
  url: string;
  server: Server;
  /** Requests whose exchange has not ended yet (neither completed nor closed). */
  readonly open: number;
  close(): Promise<void>;
}

/** Starts `handler` on a free loopback port; `close()` also destroys open connections. */
export async function startHttpUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpUpstream> {
  const sockets = new Set<Socket>();
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.once('close', () => open--);
    handler(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get open() {
      return open;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Counts of what a {@link startCountingProxy} saw. */
export interface CountingProxy extends HttpUpstream {
  /** Requests seen per path (query excluded). */
  countOf(path: string): number;
  /** `Authorization` header values seen on requests for `path`. */
  authorizationsOf(path: string): string[];
}

/**
 * A pass-through HTTP proxy in front of `target` (Synapse) that records every request's path and
 * `Authorization` header, so a test can count the gateway's whoami calls at the wire.
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  const targetUrl = new URL(target);
  const upstream = await startHttpUpstream((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    seen.push({ path, authorization: req.headers.authorization });
    const forward = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return Object.assign(upstream, {
    countOf: (path: string) => seen.filter((entry) => entry.path === path).length,
    authorizationsOf: (path: string) => seen.filter((entry) => entry.path === path).map((entry) => entry.authorization ?? ''),
  });
}
