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
  reconciler: unknown;
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
    async putPolicy(variant: string): Promise<{ status: number; body: unknown }> {
      const response = await fetch(`${base}/_matrix/corporal/policy`, { method: 'PUT', headers, body: testPolicyText(variant), signal: AbortSignal.timeout(5000) });
      return { status: response.status, body: await response.json() };
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
