/**
 * A canned homeserver for the login storm benchmark (never for tests), run as a forked child so
 * it does not share the load generator's event loop: `GET …/account/whoami` names the bench user,
 * `GET …/joined_rooms` answers an empty list, `POST …/login` a session (after reading the body);
 * anything else `{}`. Reports `{ port }` over IPC, exits when the parent disconnects.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0] ?? '';
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (path.endsWith('/account/whoami')) res.end('{"user_id":"@bench:localhost","device_id":"BENCH"}');
    else if (path.endsWith('/joined_rooms')) res.end('{"joined_rooms":[]}');
    else if (path.endsWith('/login')) res.end('{"user_id":"@storm:localhost","access_token":"syt_bench","device_id":"STORM"}');
    else res.end('{}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
