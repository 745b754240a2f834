import t from 'tap';
import { fileURLToPath } from 'node:url';
import { describeExit, runCommand, tailLines } from '../../support/run-command.js';

const CHILD = fileURLToPath(new URL('./fixtures/load-long-array.js', import.meta.url));
/** 12 M elements: about 23 MiB of `1,1,…`, far below the 256 MiB body bound. */
const ELEMENTS = 12_000_000;
/** The text and the parsed array need about 130 MiB; every issue kept took about 4 GiB (red team 11, F2). */
const HEAP_MIB = 256;

async function loadInSmallHeap(element: string, where: string): Promise<unknown> {
  const result = await runCommand(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, CHILD, element, String(ELEMENTS), where], {
    timeoutMs: 300_000, // only against a hang: nothing here measures time
    displayAs: `load-long-array ${element}`,
  });
  if (result.signal !== null || result.exitCode !== 0) throw new Error(`${describeExit(result)}\n${tailLines(result.output, 15)}`);
  return JSON.parse(tailLines(result.output, 1));
}

const INVALID_X = '`x` is not a valid Matrix room id (expected !opaque:server, or ! and 43 URL-safe base64 characters for room version 12)';

const CASES = [
  {
    name: '12 M wrongly typed room ids are refused within a 256 MiB heap, with the capped list',
    element: '1',
    where: 'managedRoomIds',
    ok: false,
    errors: {
      count: 1001,
      first: { pointer: '/managedRoomIds/0', message: 'expected a string, got an integer' },
      last: { pointer: '', message: `… and ${ELEMENTS - 1000} more errors` },
    },
    warnings: { count: 0 },
  },
  {
    // The schema is satisfied; the semantic check warns once per repeat.
    name: '12 M repeats of one invalid room id are refused within a 256 MiB heap, with the capped list',
    element: '"x"',
    where: 'managedRoomIds',
    ok: false,
    errors: { count: 1, first: { pointer: '/managedRoomIds/0', message: INVALID_X }, last: { pointer: '/managedRoomIds/0', message: INVALID_X } },
    warnings: {
      count: 1001,
      first: { pointer: '/managedRoomIds/1', message: 'room `x` is listed more than once' },
      last: { pointer: '', message: `… and ${ELEMENTS - 1 - 1000} more warnings` },
    },
  },
  {
    // Free JSON is walked for its depth and its strings: one stack entry per pending element held
    // them all at once.
    name: 'a hook payload of 12 M elements is checked within a 256 MiB heap',
    element: '1',
    where: 'responsePayload',
    ok: true,
    errors: { count: 0 },
    warnings: { count: 0 },
  },
];

for (const { name, element, where, ok, errors, warnings } of CASES) {
  t.test(name, async (t) => {
    t.same(await loadInSmallHeap(element, where), { ok, errors, warnings });
  });
}

const CRAFTED = [
  // 20 M empty objects: 60 MiB of text, well over 1 GiB once parsed.
  { kind: 'containers', count: 20_000_000, outcome: 'refused' },
  // Verification round 13, F1: three texts the first estimate let through, each of which aborted a
  // 256 MiB heap. Escapes are now parsed into flat strings, so that one fits.
  { kind: 'escapes', count: 12_000_000, outcome: 'applied' },
  { kind: 'wide', count: 45_000_000, outcome: 'refused' },
  { kind: 'keys', count: 3_600_000, outcome: 'refused' },
  // Verification round 13b: regexes translate to about 12 × their length. 285 hooks of 8,000 `$`
  // are just within the estimate for this heap; 400 are not.
  { kind: 'regexes', count: 285, outcome: 'applied' },
  { kind: 'regexes', count: 400, outcome: 'refused' },
] as const;

for (const { kind, count, outcome } of CRAFTED) {
  t.test(`crafted policy (${count} × ${kind}) in a small heap: ${outcome}, never an aborted process; the store goes on`, async (t) => {
    const child = fileURLToPath(new URL('./fixtures/store-crafted-policy.js', import.meta.url));
    const result = await runCommand(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, child, kind, String(count)], { timeoutMs: 300_000, displayAs: `store-crafted-policy ${kind}` });
    if (result.signal !== null || result.exitCode !== 0) throw new Error(`${describeExit(result)}\n${tailLines(result.output, 15)}`);
    const report = JSON.parse(tailLines(result.output, 1)) as { crafted: { kind: string; stage?: string; message?: string }; small: string };
    t.equal(report.small, 'applied');
    if (outcome === 'applied') {
      t.same(report.crafted, { kind: 'applied' });
      return;
    }
    t.has(report.crafted, { kind: 'invalid', stage: 'size' });
    t.match(report.crafted.message, /^the policy would need about \d+ MiB of memory to load/);
  });
}
