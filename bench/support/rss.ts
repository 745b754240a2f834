import { readFileSync } from 'node:fs';

/** Resident set size of process `pid` in MiB (Linux `/proc`), or NaN if it cannot be read. */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process' RSS every `intervalMs` and keeps the peak. */
export class RssSampler {
  readonly start: number;
  private peakMiB: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 50) {
    this.start = rssMiB(pid);
    this.peakMiB = this.start;
    this.timer = setInterval(() => {
      const now = rssMiB(this.pid);
      if (now > this.peakMiB) this.peakMiB = now;
    }, intervalMs);
  }

  /** Stops sampling; returns the RSS at start, the peak and the growth (MiB). */
  stop(): { startMiB: number; peakMiB: number; growthMiB: number } {
    clearInterval(this.timer);
    const last = rssMiB(this.pid);
    if (last > this.peakMiB) this.peakMiB = last;
    return { startMiB: this.start, peakMiB: this.peakMiB, growthMiB: this.peakMiB - this.start };
  }
}
