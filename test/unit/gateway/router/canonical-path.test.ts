import t from 'tap';
import { cleanPath, isCanonicalPath } from '../../../../src/gateway/router/canonical-path.js';

t.test('canonical paths', (t) => {
  for (const path of [
    '/',
    '/_matrix/client/v3/sync',
    '/_matrix/client/v3/sync/',
    '/a/.../b',
    '/a/.b/c.',
    '/a/%2e%2e%2e',
    '/a/%2ex',
    '/a/%2F..%2F/b',
    '/a/%252e',
    '/a/%2',
  ]) {
    t.ok(isCanonicalPath(path), path);
  }
  t.end();
});

t.test('non-canonical paths and their cleaned form (Go path.Clean, trailing slash kept)', (t) => {
  const cases: [string, string][] = [
    ['', '/'],
    ['x', '/x'],
    ['x/', '/x/'],
    ['//', '/'],
    ['//a', '/a'],
    ['/a//b', '/a/b'],
    ['/a//', '/a/'],
    ['/a/./b', '/a/b'],
    ['/a/.', '/a'],
    ['/a/./', '/a/'],
    ['/a/b/..', '/a'],
    ['/a/b/../', '/a/'],
    ['/..', '/'],
    ['/../', '/'],
    ['/../a/../../b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/a/%2E%2e/b', '/b'],
    ['/a/.%2e/b', '/b'],
    ['/a/%2e./b', '/b'],
    ['/x/%21a%2Fb/./c%20d', '/x/%21a%2Fb/c%20d'],
  ];
  for (const [path, cleaned] of cases) {
    t.notOk(isCanonicalPath(path), `${JSON.stringify(path)} is not canonical`);
    t.equal(cleanPath(path), cleaned, `${JSON.stringify(path)} cleans to ${cleaned}`);
    t.ok(isCanonicalPath(cleaned), `${cleaned} is canonical`);
  }
  t.end();
});
