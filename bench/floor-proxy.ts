/**
 * A measuring instrument for the benchmarks, never a product: the cheapest reverse proxy this
 * stack allows, so that the table shows what any proxy on this machine pays for the two extra
 * loopback hops before Corporal adds anything. Same shape as the gateway (uWebSockets.js, one
 * worker thread per gateway thread, SO_REUSEPORT), and no feature at all: no routing, identity,
 * policy, hooks, header filtering, timeouts or access log.
 *
 * Three upstream clients (first argument):
 * - `undici`: an undici `Pool` per thread with the dispatch-controller API, as Corporal's proxy
 *   uses it — the floor of Corporal's own stack;
 * - `socket`: bare keep-alive `net.Socket`s and a naive response framing (Content-Length only, one
 *   chunk) — the floor of any Node.js client; unsafe for anything but the fake homeserver's answers;
 * - `llhttp`: the same sockets with strict response framing by Node's own C++ llhttp parser (the
 *   one node:http uses) — what a hand-written client that keeps strict framing would cost.
 *
 * Answers `GET` only (the cached-get scenario). Usage (forked by bench/support/processes.ts):
 * `floor-proxy.js <undici|socket|llhttp> <upstream port> <threads>`; reports `{ port }` over IPC once
 * every thread listens, and exits when the parent disconnects.
 */
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { HttpRequest, HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { Pool, type Dispatcher } from 'undici';
import { loadUws } from '../src/gateway/uws.js';
import { freePort } from './support/free-port.js';

type Mode = 'undici' | 'socket' | 'llhttp';

interface ThreadData {
  mode: Mode;
  upstreamPort: number;
  port: number;
}

/** Forwards one GET: `send(path, headers, answer)` where `answer(status, body)` writes the client response. */
type Forward = (path: string, headers: string[], answer: (status: number, body: Uint8Array) => void) => void;

function undiciForward(upstreamPort: number): Forward {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { pipelining: 1, connections: 128 });
  return (path, headers, answer) => {
    let status = 0;
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: () => {},
      onResponseStart: (_controller, statusCode) => {
        status = statusCode;
      },
      onResponseData: (_controller, chunk) => {
        chunks.push(chunk);
      },
      onResponseEnd: () => answer(status, Buffer.concat(chunks)),
      onResponseError: () => answer(502, new Uint8Array(0)),
    };
    pool.dispatch({ path, method: 'GET', headers }, handler);
  };
}

/** Reads the responses of one upstream connection: fed every chunk read, calls `done` per complete response. */
type ResponseReader = (data: Buffer) => void;
/** Makes the reader of a new connection; `done(status, body)` gets each response, in order. */
type Framing = (done: (status: number, body: Buffer) => void) => ResponseReader;

/** Assumes each read is one whole response (true of the fake homeserver's small answers over loopback). */
const naiveFraming: Framing = (done) => (data) => {
  const headEnd = data.indexOf('\r\n\r\n');
  done(Number(data.toString('latin1', 9, 12)), data.subarray(headEnd + 4));
};

/** Node's built-in llhttp parser (`_http_common`, as node:http's client uses it): strict framing in C++. */
interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  [callback: number]: unknown;
}
interface NodeHttpParserClass {
  new (): NodeHttpParser;
  RESPONSE: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as { HTTPParser: NodeHttpParserClass };

const llhttpFraming: Framing = (done) => {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
  let status = 0;
  let chunks: Buffer[] = [];
  parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, _headers: string[], _method: unknown, _url: unknown, statusCode: number) => {
    status = statusCode;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (chunk: Buffer) => {
    chunks.push(chunk);
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    chunks = [];
    done(status, body);
  };
  return (data) => {
    if (parser.execute(data) instanceof Error) done(502, Buffer.alloc(0));
  };
};

/** Bare keep-alive `net.Socket`s, one request at a time each, responses read with `framing`. */
function socketForward(upstreamPort: number, framing: Framing): Forward {
  const idle: Socket[] = [];
  const waiting = new WeakMap<Socket, (status: number, body: Buffer) => void>();
  const open = (): Socket => {
    const socket = connect(upstreamPort, '127.0.0.1');
    socket.setNoDelay(true);
    const read = framing((status, body) => {
      const deliver = waiting.get(socket);
      waiting.delete(socket);
      idle.push(socket);
      deliver?.(status, body);
    });
    socket.on('data', read);
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      const at = idle.indexOf(socket);
      if (at !== -1) idle.splice(at, 1);
      const deliver = waiting.get(socket);
      waiting.delete(socket);
      deliver?.(502, Buffer.alloc(0));
    });
    return socket;
  };
  return (path, headers, answer) => {
    const socket = idle.pop() ?? open();
    waiting.set(socket, answer);
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    socket.write(`${head}\r\n`, 'latin1');
  };
}

const FORWARDS: Record<Mode, (upstreamPort: number) => Forward> = {
  undici: undiciForward,
  socket: (upstreamPort) => socketForward(upstreamPort, naiveFraming),
  llhttp: (upstreamPort) => socketForward(upstreamPort, llhttpFraming),
};

function serveThread({ mode, upstreamPort, port }: ThreadData): void {
  const { uws } = loadUws(false);
  const forward = FORWARDS[mode](upstreamPort);
  uws.App().any('/*', (res: HttpResponse, req: HttpRequest) => {
    const query = req.getQuery();
    const path = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers: string[] = [];
    req.forEach((name, value) => headers.push(name, value));
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    forward(path, headers, (status, body) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(`${status}`).writeHeader('Content-Type', 'application/json').end(body);
      });
    });
  }).listen('127.0.0.1', port, (socket) => parentPort?.postMessage(socket !== false));
}

async function main(): Promise<void> {
  const [mode, upstreamPort, threads] = [process.argv[2] as Mode, Number(process.argv[3]), Number(process.argv[4])];
  if (!Object.hasOwn(FORWARDS, mode) || !(upstreamPort > 0) || !(threads > 0)) {
    throw new Error('usage: floor-proxy.js <undici|socket|llhttp> <upstream port> <threads>');
  }
  const port = await freePort();
  const listening = Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { mode, upstreamPort, port } satisfies ThreadData });
    worker.once('message', (ok: boolean) => (ok ? resolve() : reject(new Error(`floor proxy thread cannot listen on ${port}`))));
    worker.once('error', reject);
  }));
  await Promise.all(listening);
  process.send?.({ port });
  // Killed rather than exited: process.exit() with uWS loops still open in worker threads trips a
  // libuv assertion (uv_loop_close with open handles) and dumps a core.
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

if (isMainThread) {
  main().catch((err: unknown) => {
    process.stderr.write(`floor proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  serveThread(workerData as ThreadData);
}
