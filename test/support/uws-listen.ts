import type { TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { Uws } from '../../src/gateway/uws.js';

/** A uWS app listening for a test. */
export interface ListeningApp {
  /** The port it listens on, at 127.0.0.1. */
  port: number;
  /** Stops listening and closes the app's open connections. */
  close(): void;
}

/** Lets `app` listen on 127.0.0.1 at a free port; rejects when it cannot. */
export async function listenOnLoopback(uws: Uws, app: TemplatedApp): Promise<ListeningApp> {
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('cannot listen'))));
  });
  return {
    port: uws.us_socket_local_port(listenSocket as never),
    close: () => {
      uws.us_listen_socket_close(listenSocket);
      (app as TemplatedApp & { close(): void }).close();
    },
  };
}
