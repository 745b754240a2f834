import t from 'tap';
import { isServerName } from '../../../src/common/server-name.js';

t.test('isServerName: the spec grammar, with real ports and IP literals', async (t) => {
  const valid = ['example.com', 'example.com:8448', 'localhost', '1.2.3.4', '1.2.3.4:80', '[::1]', '[2001:db8::1]:8448', '[::ffff:1.2.3.4]', 'a-b.example', 'example.com:65535'];
  const invalid = ['', 'exa mple.com', 'example.com:', 'example.com:99999', 'example.com:123456', '[::::]', '[1.2.3.4]', '[]', '[::1', '999.1.1.1', '1.2.3.256:80', 'example.com/x', `${'a'.repeat(256)}`];
  for (const name of valid) t.equal(isServerName(name), true, name);
  for (const name of invalid) t.equal(isServerName(name), false, name);
});
