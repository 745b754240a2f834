import t from 'tap';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { findFreePort } from '../../support/free-port.js';

t.test('free ports lie below the kernel\'s ephemeral range, can be listened on, and are never handed out twice', async (t) => {
  const [firstEphemeral] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const port = await findFreePort();
    t.ok(port >= 1024 && port < firstEphemeral!, `port ${port} is below ${firstEphemeral}`);
    t.notOk(ports.has(port), `port ${port} is new`);
    ports.add(port);
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen([...ports][0], '127.0.0.1', resolve));
  t.teardown(() => server.close());
});
