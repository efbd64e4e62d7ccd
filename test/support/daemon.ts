/**
 * Real server processes for integration tests (HAProxy, unbound, dnsmasq): spawned in the foreground, their output
 * kept for failure messages, and always killed: `stop()` sends SIGTERM then SIGKILL, and a process-exit hook kills
 * whatever is left if the test worker ends without reaching its afterAll.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** Bytes of output kept per process: enough for a startup error or a few warnings. */
const OUTPUT_KEPT = 16_384;

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** A spawned process is gone: waiting longer cannot help, so `poll` gives up at once. */
export class DaemonExitedError extends Error {}

export class Daemon {
  private readonly child: ChildProcess;
  private log = "";
  private exit: string | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
  ) {
    this.child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    running.add(this.child);
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString("utf8")).slice(-OUTPUT_KEPT);
    };
    this.child.stdout!.on("data", keep);
    this.child.stderr!.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("error", (err) => {
        this.exit = `failed to start: ${err.message}`;
        running.delete(this.child);
        resolve();
      });
      this.child.once("exit", (code, signal) => {
        this.exit = signal === null ? `exited with status ${code}` : `killed by ${signal}`;
        running.delete(this.child);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** What the process printed, for assertion messages. */
  output(): string {
    return this.log;
  }

  /** @throws DaemonExitedError with the process's output when it is no longer running. */
  assertRunning(): void {
    if (this.exit !== undefined) throw new DaemonExitedError(`${this.name} ${this.exit}:\n${this.log}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Safe to call more than once. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exit !== undefined) return;
    this.child.kill("SIGTERM");
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs, false)]);
    if (!done) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/**
 * Calls `probe` every `intervalMs` until it returns a value other than undefined, and returns that value. A probe
 * that throws counts as not yet, except for DaemonExitedError, which is rethrown at once.
 * @throws Error naming `what` (and the last probe error, if any) after `timeoutMs`.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = undefined;
    } catch (err) {
      if (err instanceof DaemonExitedError) throw err;
      last = err;
    }
    if (Date.now() >= deadline) {
      const reason = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`${what}: not within ${timeoutMs} ms${reason}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Polls every 20 ms until `probe` returns a value equal (as JSON) to `expected`; returns the milliseconds it took.
 * @throws Error with the last value after `ms`.
 */
export async function untilEqual<T>(probe: () => Promise<T>, expected: T, ms = 3000): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < ms) {
    last = await probe();
    if (JSON.stringify(last) === JSON.stringify(expected)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`still ${JSON.stringify(last)} after ${ms} ms, wanted ${JSON.stringify(expected)}`);
}
