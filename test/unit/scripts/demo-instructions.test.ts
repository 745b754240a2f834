import t from 'tap';
import { demoInstructions } from '../../../scripts/demo-instructions.js';

const text = demoInstructions({
  synapseUrl: 'http://127.0.0.1:1', serverName: 'localhost', synapseLog: '/tmp/hs.log', gatewayUrl: 'http://127.0.0.1:2',
  apiUrl: 'http://127.0.0.1:3', apiToken: 'tok', configPath: '/tmp/c.json', policyPath: '/tmp/p.json', roomId: '!r:localhost',
});

t.test('every suggested request with a body sends JSON: curl -d alone is form-encoded, which the gateway refuses (415)', async (t) => {
  const withBody = text.split('\n').filter((line) => line.trimStart().startsWith('curl ') && / -d /.test(line));
  t.ok(withBody.length > 0, 'the login example is there');
  for (const line of withBody) t.match(line, /-H 'Content-Type: application\/json'/, line.trim());
});

t.test('the instructions name every endpoint', async (t) => {
  for (const part of ['http://127.0.0.1:1', 'http://127.0.0.1:2/_matrix/client/corporal', 'http://127.0.0.1:3/_matrix/corporal/status', 'Bearer tok', '!r:localhost']) {
    t.ok(text.includes(part), part);
  }
});
