import t from 'tap';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { findFreePort } from '../../support/free-port.js';

t.test('free ports lie outside the kernel\'s ephemeral range, can be listened on, and are never handed out twice', async (t) => {
  const [firstEphemeral, lastEphemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const port = await findFreePort();
    t.ok(port >= 1024 && port <= 65_535 && (port < firstEphemeral! || port > lastEphemeral!), `port ${port} is outside ${firstEphemeral}–${lastEphemeral}`);
    t.notOk(ports.has(port), `port ${port} is new`);
    ports.add(port);
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen([...ports][0], '127.0.0.1', resolve));
  t.teardown(() => server.close());
});
