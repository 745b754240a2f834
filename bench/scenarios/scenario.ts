/** Where a scenario sends its load. */
export interface Target {
  /** `direct` (the fake homeserver) or `gateway` (Corporal in front of it). */
  kind: 'direct' | 'gateway';
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
}

/** Settings shared by all scenarios (from the command line). */
export interface BenchSettings {
  /** Seconds each load-test scenario runs per target (after a warm-up). */
  durationS: number;
  /** Concurrent connections of the load-test scenarios. */
  connections: number;
  /** A token the gateway has cached (warmed before the scenarios run). */
  token: string;
}

/** What one scenario measured against one target. */
export interface Measurement {
  /** Requests (or transfers) per second. */
  rps: number;
  /** Latency percentiles in ms (per request or per transfer). */
  p50: number;
  p975: number;
  p99: number;
  /** Connection errors, timeouts and unexpected statuses. */
  errors: number;
  /**
   * Every request the run made, warm-up included (request-rate scenarios): what the serving
   * process' CPU time is divided by for the "CPU µs/req" column.
   */
  requests?: number;
  /** Scenario-specific numbers (MiB/s, connections held, …), shown as a note. */
  extra?: Record<string, number>;
}

/**
 * A Corporal of a scenario's own: the gateway target of that scenario is a Corporal started with
 * this policy (and environment) instead of the shared one, e.g. a policy with hooks.
 */
export interface OwnCorporal {
  /** The policy document (`static_file`). */
  policy: unknown;
  /** Extra environment variables of the Corporal process. */
  env?: Record<string, string>;
  /** Reach the fake homeserver over this Unix socket (`Matrix.HomeserverApiSocketPath`) instead of TCP. */
  socketPath?: string;
  /** Stops what the scenario started for it (a hook REST service, …); called after the run. */
  close(): Promise<void>;
}

/** A comparison proxy that takes Corporal's place in a scenario's gateway half (bench/floor-proxy.ts). */
export interface OwnGateway {
  target: Target;
  /** The proxy's process (its RSS is reported like Corporal's). */
  pid: number;
  close(): Promise<void>;
}

/** Where the gateway half's proxy forwards to, and with how many threads (as Corporal is run). */
export interface UpstreamSettings {
  upstreamPort: number;
  /** The Unix socket the fake homeserver also serves on. */
  upstreamSocketPath: string;
  threads: number;
}

/**
 * A benchmark scenario: run once against the fake homeserver directly and once through the
 * gateway, in the same process run, so that the table can show the ratio. New scenarios (policy-
 * checked routes, logins, hooks) implement this and register in scenarios/index.ts.
 */
export interface Scenario {
  /** Stable name, used on the command line and in results. */
  name: string;
  description: string;
  /**
   * When present, the gateway run goes to a Corporal of its own, started with what this returns
   * (and stopped after the run); the direct run is unchanged. Default: the shared Corporal.
   */
  ownCorporal?(upstream: UpstreamSettings): Promise<OwnCorporal>;
  /** When present, the gateway half goes to the proxy this starts instead of any Corporal. */
  ownGateway?(upstream: UpstreamSettings): Promise<OwnGateway>;
  run(target: Target, settings: BenchSettings): Promise<Measurement>;
}
