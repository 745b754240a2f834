/**
 * A measuring instrument for the benchmarks, never a product: the cheapest reverse proxy this
 * stack allows, so that the table shows what any proxy on this machine pays for the two extra
 * loopback hops before Corporal adds anything. Same shape as the gateway (uWebSockets.js, one
 * worker thread per gateway thread, SO_REUSEPORT), and no feature at all: no routing, identity,
 * policy, hooks, header filtering, timeouts or access log.
 *
 * Two upstream clients (first argument):
 * - `undici`: an undici `Pool` per thread with the dispatch-controller API, as Corporal's proxy
 *   uses it — the floor of Corporal's own stack;
 * - `socket`: bare keep-alive `net.Socket`s and a naive response framing (Content-Length only, one
 *   chunk) — the floor of any Node.js client; unsafe for anything but the fake homeserver's answers.
 *
 * Answers `GET` only (the cached-get scenario). Usage (forked by bench/support/processes.ts):
 * `floor-proxy.js <undici|socket> <upstream port> <threads>`; reports `{ port }` over IPC once
 * every thread listens, and exits when the parent disconnects.
 */
import { connect, type Socket } from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { HttpRequest, HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { Pool, type Dispatcher } from 'undici';
import { loadUws } from '../src/gateway/uws.js';
import { freePort } from './support/free-port.js';

type Mode = 'undici' | 'socket';

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

function socketForward(upstreamPort: number): Forward {
  const idle: Socket[] = [];
  const waiting = new WeakMap<Socket, (response: Buffer) => void>();
  const open = (): Socket => {
    const socket = connect(upstreamPort, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('data', (response: Buffer) => {
      const deliver = waiting.get(socket);
      waiting.delete(socket);
      idle.push(socket);
      deliver?.(response);
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      const at = idle.indexOf(socket);
      if (at !== -1) idle.splice(at, 1);
      const deliver = waiting.get(socket);
      waiting.delete(socket);
      deliver?.(Buffer.from('HTTP/1.1 502 Bad Gateway\r\n\r\n', 'latin1'));
    });
    return socket;
  };
  return (path, headers, answer) => {
    const socket = idle.pop() ?? open();
    waiting.set(socket, (response) => {
      const headEnd = response.indexOf('\r\n\r\n');
      answer(Number(response.toString('latin1', 9, 12)), response.subarray(headEnd + 4));
    });
    let head = `GET ${path} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    socket.write(`${head}\r\n`, 'latin1');
  };
}

function serveThread({ mode, upstreamPort, port }: ThreadData): void {
  const { uws } = loadUws(false);
  const forward = mode === 'undici' ? undiciForward(upstreamPort) : socketForward(upstreamPort);
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
  if ((mode !== 'undici' && mode !== 'socket') || !(upstreamPort > 0) || !(threads > 0)) {
    throw new Error('usage: floor-proxy.js <undici|socket> <upstream port> <threads>');
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
