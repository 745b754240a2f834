import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: `/proc/<pid>/stat` counts CPU time in these ticks (100 on every mainstream build). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of process `pid` in MiB (Linux `/proc`), or NaN if it cannot be read. */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time (user + system, all threads) process `pid` has used so far, in seconds (Linux `/proc`,
 * 10 ms resolution), or NaN if it cannot be read.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** What a {@link ProcessSampler} saw between its start and `stop()`. */
export interface ProcessUsage {
  startMiB: number;
  peakMiB: number;
  growthMiB: number;
  /** CPU time used meanwhile, in seconds. */
  cpuSeconds: number;
}

/** Samples a process' RSS every `intervalMs` and keeps the peak; also counts the CPU time it uses. */
export class ProcessSampler {
  readonly start: number;
  private peakMiB: number;
  private readonly cpuAtStart: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 50) {
    this.start = rssMiB(pid);
    this.peakMiB = this.start;
    this.cpuAtStart = cpuSeconds(pid);
    this.timer = setInterval(() => {
      const now = rssMiB(this.pid);
      if (now > this.peakMiB) this.peakMiB = now;
    }, intervalMs);
  }

  /** Stops sampling; returns the RSS at start, the peak, the growth (MiB) and the CPU time used. */
  stop(): ProcessUsage {
    clearInterval(this.timer);
    const last = rssMiB(this.pid);
    if (last > this.peakMiB) this.peakMiB = last;
    return { startMiB: this.start, peakMiB: this.peakMiB, growthMiB: this.peakMiB - this.start, cpuSeconds: cpuSeconds(this.pid) - this.cpuAtStart };
  }
}
