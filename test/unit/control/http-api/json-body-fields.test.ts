import t from 'tap';
import { decodeBodyFields } from '../../../../src/control/http-api/json-body-fields.js';

const FIELDS = { deviceId: 'string', validitySeconds: 'integer' } as const;

const cases: Array<[string, string | Buffer, Record<string, unknown> | null]> = [
  ['both fields', '{"deviceId":"d","validitySeconds":60}', { deviceId: 'd', validitySeconds: 60 }],
  ['keys fold case as Go does', '{"DEVICEID":"d","ValiditySeconds":0}', { deviceId: 'd', validitySeconds: 0 }],
  ['unknown fields are ignored', '{"deviceId":"d","extra":[1,2]}', { deviceId: 'd' }],
  ['null fields are absent', '{"deviceId":null,"validitySeconds":null}', {}],
  ['a null body has no fields', 'null', {}],
  ['an empty object', '{}', {}],
  ['the last matching key wins', '{"deviceId":"a","deviceid":"b"}', { deviceId: 'b' }],
  ['empty body', '', null],
  ['not JSON', 'device', null],
  ['trailing comma (Go is strict)', '{"deviceId":"d",}', null],
  ['an array', '[]', null],
  ['a string', '"d"', null],
  ['a number for a string field', '{"deviceId":5}', null],
  ['a string for an integer field', '{"validitySeconds":"5"}', null],
  ['a fraction for an integer field', '{"validitySeconds":1.5}', null],
  ['an unsafe integer', '{"validitySeconds":9007199254740993}', null],
  ['a boolean', '{"deviceId":true}', null],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), null],
];

for (const [name, body, expected] of cases) {
  t.test(name, async (t) => {
    t.same(decodeBodyFields(Buffer.isBuffer(body) ? body : Buffer.from(body), FIELDS), expected);
  });
}

t.test('a field named with the Kelvin sign matches its ASCII k', async (t) => {
  t.same(decodeBodyFields(Buffer.from('{"accessto\u212aen":"t"}'), { accessToken: 'string' }), { accessToken: 't' });
});
