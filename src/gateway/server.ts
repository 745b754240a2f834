import type { HttpRequest, TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { Uws } from './uws.js';
import { ClientExchange, type ExchangeListener } from './respond.js';
import { ErrCode } from '../common/matrix-errors.js';

/** Handles one request; must copy what it needs from `req` synchronously (uWS frees it on return). */
export type ExchangeHandler = (exchange: ClientExchange, req: HttpRequest) => void;

/** What {@link GatewayServer} needs. */
export interface GatewayServerOptions {
  uws: Uws;
  handle: ExchangeHandler;
  /**
   * Handles a request that arrives while the server drains; it must answer with
   * {@link refuseWhileDraining}. A gateway thread's handler captures the request first, so that it
   * is counted and logged like any other (drain-refusal.ts). Default: that answer alone.
   */
  refuse?: ExchangeHandler;
}

/** The answer to a request that arrives while the server drains: 503 with `Retry-After`, and the connection closed. */
export function refuseWhileDraining(exchange: ClientExchange): void {
  exchange.sendMatrixError(503, ErrCode.Unknown, 'Corporal is shutting down', [['Retry-After', '1']], true);
}

/**
 * One gateway thread's uWebSockets.js app: a single catch-all route, the listen socket, and the
 * set of exchanges in flight (for draining).
 *
 * Shutdown contract: a worker thread may only end once every uWS socket is closed — exiting with
 * a listen socket or client connection open aborts Node with `uv_loop_close() while having open
 * handles`. {@link close} therefore closes the listen socket and then the whole app (idle
 * keep-alive connections included).
 */
export class GatewayServer implements ExchangeListener {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  private readonly inFlightExchanges = new Set<ClientExchange>();
  private draining = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: GatewayServerOptions) {
    const refuse = options.refuse ?? refuseWhileDraining;
    this.app = options.uws.App().any('/*', (res, req) => {
      const exchange = new ClientExchange(res, this);
      this.inFlightExchanges.add(exchange);
      if (this.draining) {
        // A request on a keep-alive connection after the drain began: refuse and close it.
        refuse(exchange, req);
        return;
      }
      options.handle(exchange, req);
    });
  }

  /**
   * Listens on host:port (port 0 = any free port; host null = every interface, dual-stack where
   * the host has IPv6); resolves with the bound port.
   */
  listen(host: string | null, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const listening = (socket: us_listen_socket | false): void => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host ?? '*'}:${port}`));
          return;
        }
        this.listenSocket = socket;
        resolve(this.options.uws.us_socket_local_port(socket as never));
      };
      // Without a host, uSockets binds `::` with IPV6_V6ONLY off, or 0.0.0.0 without IPv6.
      if (host === null) this.app.listen(port, listening);
      else this.app.listen(host, port, listening);
    });
  }

  /** Requests currently being served. */
  get inFlight(): number {
    return this.inFlightExchanges.size;
  }

  /** Stops accepting connections; requests already in flight continue; new ones on open connections get 503. */
  startDrain(): void {
    this.draining = true;
    if (this.listenSocket) {
      this.options.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
  }

  /** Resolves when no request is in flight, or at `deadline` (epoch ms), whichever comes first. */
  whenIdle(deadline: number): Promise<void> {
    if (this.inFlightExchanges.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve();
      };
      // At the deadline the waiter leaves the list too: a drain asked again (or a test calling
      // this in a loop) does not pile up callbacks that only an idle moment would release.
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((other) => other !== waiter);
        resolve();
      }, Math.max(0, deadline - Date.now()));
      this.idleWaiters.push(waiter);
    });
  }

  /** Closes everything: remaining exchanges are cut, then every socket of the app. */
  close(): void {
    this.startDrain();
    for (const exchange of [...this.inFlightExchanges]) exchange.forceClose();
    // `close()` exists on the native app of the pinned build but is missing from its typings.
    (this.app as TemplatedApp & { close(): void }).close();
  }

  /** Internal: an exchange ended (see {@link ExchangeListener}). */
  exchangeSettled(exchange: ClientExchange): void {
    this.inFlightExchanges.delete(exchange);
    if (this.inFlightExchanges.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }
}
