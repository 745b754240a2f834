import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP gate in front of Synapse: while closed, every connection is reset at once (as if nothing
 * listened); once opened, connections are piped through. `shut()` closes it again and cuts the
 * connections it carries (Synapse going down).
 */
export async function startGate(targetPort: number) {
  let open = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!open) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open: () => {
      open = true;
    },
    shut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
