import t from 'tap';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startHttpUpstream } from './fixtures/http-upstream.js';

/**
 * The access log as an operator sees it: the gateway runs in a child process (its threads log to
 * stdout) and this test reads the lines. One line per request with route, status, user, upstream
 * status and byte counts; never a token.
 */

const CHILD = fileURLToPath(new URL('./fixtures/access-log-child.js', import.meta.url));
const HEADER_SECRET = 'syt_header_secret_token';
const QUERY_SECRET = 'syt_query_secret_token';
const SSO_CODE = 'oidc-authorisation-code-7d1e';
const CONSENT_HMAC = 'consent-hmac-5b0c9a';
/** A capability in the path: the id of an MSC4108 rendezvous session (QR-code login). */
const RENDEZVOUS_ID = 'rendezvous-session-5f2a';
/** A token whose look-up Synapse answers 500: the gateway warns, with the cause, never the token. */
const FAILING_SECRET = 'syt_failing_lookup_token';
const CASED_SECRET = 'syt_cased_query_key_token';
const LOGIN_TOKEN = 'login_token_secret_value';

const upstream = await startHttpUpstream((req, res) => {
  req.resume();
  if (req.url === '/_matrix/client/v3/cut-short') {
    // Synapse's head, then its connection dropped before any body byte: the gateway must cut the
    // client's connection, having sent nothing.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
    res.flushHeaders();
    setTimeout(() => res.socket?.destroy(), 50);
    return;
  }
  if ((req.url ?? '').startsWith('/_matrix/client/v3/account/whoami')) {
    if (req.headers.authorization === `Bearer ${FAILING_SECRET}`) {
      res.statusCode = 500;
      res.end('{"errcode":"M_UNKNOWN","error":"Internal server error"}');
      return;
    }
    res.end(JSON.stringify({ user_id: '@logged:localhost' }));
    return;
  }
  req.on('end', () => res.end('{"ok":true}'));
});
t.teardown(() => upstream.close());

const child = spawn(process.execPath, [CHILD, upstream.url], { stdio: ['pipe', 'pipe', 'pipe'] });
const stdout: string[] = [];
createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
const port = await new Promise<number>((resolve, reject) => {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const match = /READY (\d+)/.exec(stderr);
    if (match) resolve(Number(match[1]));
  });
  child.once('exit', (code) => reject(new Error(`gateway child exited (${code}): ${stderr}`)));
});
const base = `http://127.0.0.1:${port}`;

async function send(path: string, options: Parameters<typeof request>[1] = {}): Promise<number> {
  const response = await request(`${base}${path}`, options);
  await response.body.dump();
  return response.statusCode;
}

t.test('one line per request, with route, status, user and sizes, never a token', async (t) => {
  t.equal(await send(`/_matrix/client/v3/joined_rooms?access_token=${QUERY_SECRET}&limit=5`), 200);
  t.equal(await send('/_matrix/client/v3/joined_rooms', { headers: { authorization: `Bearer ${HEADER_SECRET}` } }), 200);
  t.equal(await send('/_matrix/media/v3/upload', { method: 'POST', body: Buffer.alloc(1000), headers: { authorization: `Bearer ${HEADER_SECRET}` } }), 200);
  t.equal(await send('/_matrix/client/v3/sync', { method: 'OPTIONS' }), 200);
  t.equal(await send(`/_synapse/client/oidc/callback?code=${SSO_CODE}&state=s1`), 200);
  t.equal(await send(`/_synapse/client/rendezvous/${RENDEZVOUS_ID}`), 200);
  t.equal(await send(`/_matrix/consent?v=1.0&u=alice&h=${CONSENT_HMAC}`), 200);
  t.equal(await send('/_matrix/client/v3/joined_rooms', { headers: { authorization: `Bearer ${FAILING_SECRET}` } }), 200, 'a failed look-up: proxied (Corporal does not act on the user here)');
  t.equal(await send(`/_matrix/client/v3/login/sso/redirect?Access_Token=${CASED_SECRET}&loginToken=${LOGIN_TOKEN}`), 200);
  await t.rejects(send('/_matrix/client/v3/cut-short'), 'a response that cannot complete: the connection is closed');

  child.stdin.end();
  t.equal(await exited, 0, 'the gateway stopped cleanly');

  const output = stdout.join('\n');
  t.notOk(output.includes(HEADER_SECRET), 'no header token in any log line');
  t.notOk(output.includes(QUERY_SECRET), 'no query token in any log line');
  t.notOk(output.includes(SSO_CODE), 'no SSO authorisation code in any log line');
  t.notOk(output.includes(RENDEZVOUS_ID), 'no rendezvous id in any log line');
  t.notOk(output.includes(CONSENT_HMAC), 'no consent HMAC in any log line');
  t.notOk(output.includes(FAILING_SECRET), 'no token of a failed look-up either');
  t.notOk(output.includes(CASED_SECRET), 'no token under a key in another case (day-2 review 19, #8)');
  t.notOk(output.includes(LOGIN_TOKEN), 'no loginToken');
  const lines = stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(lines.find((line) => line['msg'] === 'token look-up failed'), { level: 40, code: 'CORP_ERR_WHOAMI_FAILED', cause: 'whoami answered HTTP 500 M_UNKNOWN' },
    'a failed token look-up is a warning with its cause');
  const requests = lines.filter((line) => line['msg'] === 'request');
  t.equal(requests.length, 10, 'one line per request');
  const byPath = (prefix: string): Record<string, unknown> | undefined => requests.find((line) => String(line['path']).startsWith(prefix));
  t.match(byPath('/_matrix/client/v3/joined_rooms?'), {
    route: 'other', method: 'GET', status: 200, upstream: 200, user: '@logged:localhost',
    path: '/_matrix/client/v3/joined_rooms?access_token=[redacted]&limit=5',
  });
  t.match(byPath('/_matrix/media/v3/upload'), { route: 'media.upload', method: 'POST', status: 200, in: 1000, out: 11, user: '@logged:localhost' });
  t.match(byPath('/_synapse/client/rendezvous/'), { path: '/_synapse/client/rendezvous/[redacted]', status: 200, upstream: 200 });
  t.match(requests.find((line) => line['method'] === 'OPTIONS'), { route: 'options', status: 200, upstream: 0 });
  const cut = byPath('/_matrix/client/v3/cut-short');
  t.match(cut, { status: 0, upstream: 200, out: 0, cut: true }, 'no status was sent: the gateway cut the connection');
  t.notOk(cut && 'aborted' in cut, 'not a client abort');
  for (const line of requests) t.type(line['ms'], 'number');
});
