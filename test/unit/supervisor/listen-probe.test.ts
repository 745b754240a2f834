import t from 'tap';
import { createServer, type Server } from 'node:net';
import type { TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import { loadUws } from '../../../src/gateway/uws.js';
import { probeListenAddresses } from '../../../src/supervisor/listen-probe.js';

function listen(options: { port: number; reusePort?: boolean }): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', ...options }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const portOf = (server: Server): number => (server.address() as { port: number }).port;

t.test('free addresses pass and are released again', async (t) => {
  const a = await listen({ port: 0 });
  const b = await listen({ port: 0 });
  const [portA, portB] = [portOf(a), portOf(b)];
  await Promise.all([close(a), close(b)]);
  await probeListenAddresses([{ key: 'A', address: `127.0.0.1:${portA}` }, { key: 'B', address: `127.0.0.1:${portB}` }]);
  const again = await listen({ port: portA });
  t.pass('the probed port can be bound afterwards');
  await close(again);
});

t.test('a port held by a plain listener is reported in use, naming the key and address', async (t) => {
  const blocker = await listen({ port: 0 });
  t.teardown(() => close(blocker));
  const address = `127.0.0.1:${portOf(blocker)}`;
  await t.rejects(probeListenAddresses([{ key: 'HttpApi.ListenAddress', address }]), {
    code: 'CORP_ERR_LISTEN_UNAVAILABLE',
    message: `HttpApi.ListenAddress ${address} is already in use (is another corporal instance, or another server, listening on it?)`,
  });
});

t.test('a port held by a uWS listener (SO_REUSEPORT, as the gateway threads hold it) is reported in use', async (t) => {
  // Another uWS listener could share this port; the probe's plain listener cannot.
  const { uws } = loadUws(false);
  const app = uws.App();
  const socket = await new Promise<us_listen_socket | false>((resolve) => app.listen('127.0.0.1', 0, resolve));
  if (!socket) throw new Error('uWS cannot listen');
  t.teardown(() => {
    uws.us_listen_socket_close(socket);
    (app as TemplatedApp & { close(): void }).close();
  });
  const address = `127.0.0.1:${uws.us_socket_local_port(socket as never)}`;
  await t.rejects(probeListenAddresses([{ key: 'HttpGateway.ListenAddress', address }]), {
    message: `HttpGateway.ListenAddress ${address} is already in use (is another corporal instance, or another server, listening on it?)`,
  });
});

t.test('the second of two identical addresses is reported (both are held at once)', async (t) => {
  const free = await listen({ port: 0 });
  const port = portOf(free);
  const address = `127.0.0.1:${port}`;
  await close(free);
  await t.rejects(
    probeListenAddresses([{ key: 'HttpGateway.ListenAddress', address }, { key: 'HttpApi.ListenAddress', address }]),
    { message: new RegExp(`^HttpApi\\.ListenAddress ${address.replace(/\./g, '\\.')} is already in use`) },
  );
  const again = await listen({ port });
  t.pass('the first probe socket was closed on failure');
  await close(again);
});

t.test('port 0 is not probed', async () => {
  await probeListenAddresses([{ key: 'HttpGateway.ListenAddress', address: '127.0.0.1:0' }]);
});
