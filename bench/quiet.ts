/**
 * Waiting for a quiet machine: on a shared host, other processes on the servers' CPU turn measurements into noise
 * (a stalled server overflows its socket, latency percentiles measure the scheduler). Before each load run the
 * harness waits until both CPUs have been nearly idle for a second, bounded per run and over the whole benchmark;
 * what was not avoided is measured during the run (throughput.ts) and reported.
 */
import { CLIENT_CPU, SERVER_CPU } from "./environment.js";
import { cpuBusySeconds } from "./procfs.js";

/** Busy share of a CPU below which it counts as idle; CPU 1 also runs the harness, which is idle meanwhile. */
const IDLE = { [SERVER_CPU]: 0.05, [CLIENT_CPU]: 0.1 };
const WINDOW_MS = 1_000;
const QUIET_WINDOWS = 1;

export class QuietWaiter {
  private spentSeconds = 0;
  private waits = 0;

  constructor(
    private readonly perRunSeconds: number,
    private readonly budgetSeconds: number,
  ) {}

  /** Resolves once the CPUs are quiet, or when this run's or the benchmark's waiting time is used up. */
  async wait(): Promise<void> {
    const began = performance.now();
    const limit = Math.min(this.perRunSeconds, this.budgetSeconds - this.spentSeconds) * 1000;
    let quiet = 0;
    while (quiet < QUIET_WINDOWS && performance.now() - began < limit) {
      const before = [SERVER_CPU, CLIENT_CPU].map(cpuBusySeconds);
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      const busy = [SERVER_CPU, CLIENT_CPU].map(
        (cpu, i) => (cpuBusySeconds(cpu) - before[i]!) / (WINDOW_MS / 1000),
      );
      quiet = busy[0]! < IDLE[SERVER_CPU] && busy[1]! < IDLE[CLIENT_CPU] ? quiet + 1 : 0;
    }
    const waited = (performance.now() - began) / 1000;
    this.spentSeconds += waited;
    if (waited > WINDOW_MS * QUIET_WINDOWS * 1.5e-3) this.waits++;
  }

  /** Seconds spent waiting, and how many runs had to wait longer than the minimum. */
  summary(): { seconds: number; waits: number } {
    return { seconds: this.spentSeconds, waits: this.waits };
  }
}
