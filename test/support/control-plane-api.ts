import { testPolicyText } from './control-plane.js';

/** The bearer token `testConfigRaw` configures for the HTTP API. */
export const API_TOKEN = 'test-api-token';

/** What `GET /_matrix/corporal/status` answers (the parts these tests read). */
export interface StatusBody {
  policy: { generation: number; hash: string; source: string; identificationStamp: string | null } | null;
  lastRejection: unknown;
  provider: { type: string; lastSuccessAt: string | null; lastError: { message: string } | null };
  gateway: {
    threadsAlive: number;
    threadsConfigured: number;
    snapshotGeneration: number | null;
    threads: Array<{ index: number; alive: boolean; generation: number | null; restarts: number }>;
  } | { error: string };
  reconciler: ReconcilerStatusBody | null;
}

/** One reconciliation run as the status endpoint shows it (the parts these tests read). */
export interface RunBody {
  kind: 'full' | 'users';
  generation: number;
  startedAt: string;
  finishedAt: string | null;
  outcome: string;
  usersObserved: number;
  usersTotal: number;
  actionsPlanned: number;
  actionsDone: number;
  actionsFailed: number;
  failures: Array<{ userId?: string; actionType: string; code: string; error: string }>;
}

/** `status.reconciler`. */
export interface ReconcilerStatusBody {
  state: 'starting' | 'waiting' | 'ready' | 'stopped';
  readyAt: string | null;
  failedAttempts: number;
  lastError: { at: string; message: string } | null;
  nextAttemptAt: string | null;
  running: boolean;
  policyGeneration: number | null;
  current: RunBody | null;
  lastRun: RunBody | null;
  lastFullRun: RunBody | null;
  /** Pending retries, soonest first. */
  retries: Array<{ userId?: string; roomId?: string; attempt: number; dueAt: string }>;
}

/** A small client for a running control child's HTTP API. */
export function apiClient(port: number) {
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${API_TOKEN}` };
  return {
    async status(): Promise<StatusBody> {
      const response = await fetch(`${base}/_matrix/corporal/status`, { headers, signal: AbortSignal.timeout(5000) });
      if (response.status !== 200) throw new Error(`status answered ${response.status}`);
      return (await response.json()) as StatusBody;
    },
    /** Resolves with the status once the API answers at all (the child may be starting). */
    async statusWhenUp(timeoutMs = 15_000): Promise<StatusBody> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return await this.status();
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
    /** Pushes `testPolicyText(variant)`, or the given policy object. */
    async putPolicy(variant: string | Record<string, unknown>): Promise<{ status: number; body: unknown }> {
      const body = typeof variant === 'string' ? testPolicyText(variant) : JSON.stringify(variant);
      const response = await fetch(`${base}/_matrix/corporal/policy`, { method: 'PUT', headers, body, signal: AbortSignal.timeout(5000) });
      return { status: response.status, body: await response.json() };
    },
    /** Any request to the API, with the test token; the body is sent as JSON unless it is a string. */
    async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
      const init: RequestInit = { method, headers, signal: AbortSignal.timeout(30_000) };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const response = await fetch(`${base}${path}`, init);
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    },
    /** `GET /_matrix/corporal/metrics`: status, content type and the exposition text. */
    async metrics(token: string | null = API_TOKEN): Promise<{ status: number; type: string | null; text: string }> {
      const response = await fetch(`${base}/_matrix/corporal/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
    },
    async getPolicy(): Promise<unknown> {
      const response = await fetch(`${base}/_matrix/corporal/policy`, { headers, signal: AbortSignal.timeout(5000) });
      return ((await response.json()) as { policy: unknown }).policy;
    },
  };
}

/** True when every configured gateway thread is alive and enforces `generation`. */
export function allThreadsAt(status: StatusBody, generation: number): boolean {
  const { gateway } = status;
  if ('error' in gateway) return false;
  return gateway.threads.length === gateway.threadsConfigured && gateway.threads.every((thread) => thread.alive && thread.generation === generation);
}

/**
 * Pushes `policy` through the HTTP API and waits until every gateway thread enforces it and, unless
 * `reconciled` is false (a change of hooks only, which needs no run), the reconciler has finished a
 * run on it. Throws when the push is refused or that takes over 60 s.
 */
export async function pushAndSettle(api: ReturnType<typeof apiClient>, policy: Record<string, unknown>, reconciled = true): Promise<void> {
  const generation = ((await api.status()).policy?.generation ?? 0) + 1;
  const put = await api.putPolicy(policy);
  if (put.status !== 200) throw new Error(`policy push answered ${put.status}: ${JSON.stringify(put.body)}`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await api.status();
    const runDone = !reconciled || (status.reconciler?.lastRun?.generation === generation && status.reconciler?.running === false);
    if (allThreadsAt(status, generation) && runDone) return;
    if (Date.now() > deadline) throw new Error(`generation ${generation} was not enforced and reconciled within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
