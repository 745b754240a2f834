import t from 'tap';
import { ArrayFieldFormatError, ArrayFieldLimitError, readArrayField, type ArrayFieldOptions } from '../../../src/common/json-array-field.js';

/** `text` as a stream of chunks of `size` bytes (the scanner must not care where chunks end). */
async function* chunks(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const everything: ArrayFieldOptions<unknown> = { key: 'state', maxElementBytes: 1 << 20, maxOtherBytes: 1 << 20, maxTotalBytes: 1 << 30, maxElements: 1000, keep: (element) => element };

async function read(text: string, options: Partial<ArrayFieldOptions<unknown>> = {}, size = 7): Promise<Record<string, unknown>> {
  return readArrayField(chunks(text, size), { ...everything, ...options });
}

t.test('the array elements and the other fields, whatever the chunk size', async (t) => {
  const answer = {
    before: { nested: ['[', ']', '{"state":[1]}'] },
    state: [
      { type: 'm.room.member', state_key: '@a:hs', content: { membership: 'join', reason: 'quote " backslash \\ brackets [{ }] 𐀀 é' } },
      { type: 'x', content: { list: [[1, 2], { deep: [true, null] }], empty: {} } },
      {},
    ],
    next_batch: 'n"]1',
  };
  const text = JSON.stringify(answer, null, 1);
  for (const size of [1, 2, 3, 5, 64, 1 << 16]) t.same(await read(text, {}, size), answer, `chunks of ${size}`);
  t.same(await read(JSON.stringify(answer)), answer, 'compact');
});

t.test('keep maps and drops elements; nothing else of an element is held', async (t) => {
  const text = JSON.stringify({ state: [{ type: 'a', big: 'x'.repeat(1000) }, { type: 'b' }, { type: 'a' }] });
  const kept = await readArrayField(chunks(text, 13), { ...everything, keep: (element) => ((element as { type: string }).type === 'a' ? 'A' : undefined) });
  t.same(kept, { state: ['A', 'A'] });
  t.same(await read('{"state":[]}'), { state: [] }, 'an empty array');
  t.same(await read('  {  "other" : 1 , "state" : [ { } , { "a" : [ ] } ] }  '), { other: 1, state: [{}, { a: [] }] }, 'whitespace anywhere');
});

t.test('only the top-level key counts: not a string that looks like it, not a nested one', async (t) => {
  t.same(await read('{"x":"{\\"state\\":[","state":[{"a":1}]}'), { x: '{"state":[', state: [{ a: 1 }] });
  t.same(await read('{"inner":{"state":[{"no":1}]},"state":[{"yes":1}]}'), { inner: { state: [{ no: 1 }] }, state: [{ yes: 1 }] });
  t.same(await read('{"xstate":[1,2],"state":[{"a":1}]}'), { xstate: [1, 2], state: [{ a: 1 }] }, 'another key ending alike, with an array of numbers');
});

t.test('malformed answers are refused', async (t) => {
  const refused: [string, RegExp][] = [
    ['{"other":[]}', /no "state" array/],
    ['[{"state":[]}]', /no "state" array|not a JSON object/],
    ['{"state":[{}],"state":[{}]}', /more than one/],
    ['{"state":[{"b":2}],"\\u0073tate":[]}', /no single "state" array/],
    ['{"state":[{"b":2}],"\\u0073tate":7}', /no single "state" array/],
    ['{"state":[{},]}', /unexpected "]"/],
    ['{"state":[,{}]}', /unexpected ","/],
    ['{"state":[{}{}]}', /unexpected "\{"/],
    ['{"state":[1,2]}', /elements must be objects/],
    ['{"state":[{"a":}]}', /not JSON/],
    ['{"state":[{"a":1}]', /ends early/],
    ['{"state":[{"a":"1}]}', /ends early/],
    ['{"state":[{}]} x', /not JSON/],
    ['{"state":[{}]}}', /not a JSON object/],
    ['', /ends early|no "state"/],
  ];
  for (const [text, message] of refused) await t.rejects(read(text), { name: ArrayFieldFormatError.name, message }, text);
});

t.test('bounds: one element, the other fields, the whole answer', async (t) => {
  const text = JSON.stringify({ note: 'n'.repeat(100), state: [{ a: 'x'.repeat(200) }, { b: 1 }] });
  await t.rejects(read(text, { maxElementBytes: 150 }), { name: ArrayFieldLimitError.name, message: /an element of "state" exceeds 150 bytes/, limit: 150 });
  await t.rejects(read(text, { maxOtherBytes: 50 }), { name: ArrayFieldLimitError.name, limit: 50 });
  await t.rejects(read(text, { maxTotalBytes: 300 }), { name: ArrayFieldLimitError.name, message: /exceeds 300 bytes/ });
  await t.rejects(read(text, { maxElements: 1 }), { name: ArrayFieldLimitError.name, message: /more than 1 elements/, limit: 1 });
  t.same(await read(text, { maxElementBytes: 220, maxOtherBytes: 200, maxTotalBytes: text.length, maxElements: 2 }), JSON.parse(text), 'bounds just above what the answer needs hold');
});

t.test('many elements: the answer may be far larger than any one bound', async (t) => {
  const event = { type: 'm.room.member', state_key: '@u:hs', content: { membership: 'invite', reason: '𐀀'.repeat(2000) } };
  const text = JSON.stringify({ state: Array.from({ length: 500 }, () => event) });
  t.ok(text.length > 1_000_000);
  const kept = await readArrayField(chunks(text, 65_536), { ...everything, maxElementBytes: 64 * 1024, maxOtherBytes: 1024, keep: (element) => (element as typeof event).content.membership });
  t.equal((kept['state'] as string[]).length, 500);
});

t.test('shallow: values nested in an element are skipped, its own fields are read, whatever the chunk size', async (t) => {
  const tricky = { s: 'brackets ] } [ { and a quote " and a backslash \\', deep: [[{ a: [] }], { '}': ']' }], x: 'y'.repeat(5000) };
  const answer = {
    before: { nested: [1, { two: 2 }] },
    delayed_events: [
      { delay_id: 'd1', room_id: '!r:hs', content: tricky, delay: 1000, empty: {}, list: [1, 2] },
      { content: [tricky, tricky], delay_id: 'd2', state_key: '', running_since: 5 },
      { delay_id: 'd3' },
    ],
    after: [{ kept: true }],
  };
  const expected = {
    before: { nested: [1, { two: 2 }] },
    delayed_events: [
      { delay_id: 'd1', room_id: '!r:hs', content: {}, delay: 1000, empty: {}, list: [] },
      { content: [], delay_id: 'd2', state_key: '', running_since: 5 },
      { delay_id: 'd3' },
    ],
    after: [{ kept: true }],
  };
  const text = JSON.stringify(answer, null, 1);
  for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
    t.same(await read(text, { key: 'delayed_events', shallow: true, maxElementBytes: 200 }, size), expected, `chunks of ${size}`);
  }
  await t.rejects(read(text, { key: 'delayed_events', maxElementBytes: 200 }), { name: ArrayFieldLimitError.name }, 'without shallow, the same bound refuses the answer');
  await t.rejects(read(JSON.stringify({ delayed_events: [{ delay_id: 'x'.repeat(300), content: {} }] }), { key: 'delayed_events', shallow: true, maxElementBytes: 200 }),
    { name: ArrayFieldLimitError.name, message: /exceeds 200 bytes/ }, "an element's own fields still count against the bound");
  await t.rejects(read('{"delayed_events":[{"content":{"a":1]}]}', { key: 'delayed_events', shallow: true }), { name: ArrayFieldFormatError.name },
    'a skipped value closed by the wrong bracket leaves the element malformed');
});
