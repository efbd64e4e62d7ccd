/**
 * Child processes of the benchmark, each in its own process group so that a server that forks (NSD) is stopped
 * whole. Every child is killed when the benchmark ends, fails or is interrupted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

/** Bytes of a child's output kept for error messages. */
const TAIL_BYTES = 4_000;
/** Seconds a child may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_GRACE = 5;

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** The last few kilobytes of its standard output and error. */
  output(): string;
  /** Resolves when the child has exited, with a one-line description. */
  readonly exited: Promise<string>;
  isRunning(): boolean;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

/** Starts a command with PODNS_* variables removed from its environment, so that only its flags configure it. */
export function start(
  name: string,
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; onStdout?: (chunk: Buffer) => void; stdoutFile?: string } = {},
): Child {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PODNS_")));
  // Output sent to a file bypasses the harness: it costs no CPU here while the child runs.
  const out = opts.stdoutFile === undefined ? "pipe" : openSync(opts.stdoutFile, "w");
  const proc = spawn(command, args, {
    detached: true,
    stdio: ["ignore", out, "pipe"],
    env: { ...cleanEnv, ...opts.env },
  });
  if (typeof out === "number") closeSync(out);
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const pid = proc.pid;
  live.add(proc);
  let tail = "";
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  proc.stdout?.on("data", keep);
  if (opts.onStdout) proc.stdout?.on("data", opts.onStdout);
  proc.stderr?.on("data", keep);
  let running = true;
  const exited = new Promise<string>((resolve) => {
    proc.once("error", (err) => {
      running = false;
      live.delete(proc);
      resolve(`${name} could not run: ${err.message}`);
    });
    proc.once("exit", (code, signal) => {
      running = false;
      live.delete(proc);
      resolve(`${name} exited with ${signal ?? `status ${code}`}`);
    });
  });
  return {
    name,
    pid,
    output: () => tail,
    exited,
    isRunning: () => running,
    async stop() {
      if (!running) return;
      signalGroup(pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), STOP_GRACE * 1000);
      await exited;
      clearTimeout(timer);
      // Children of the group leader (NSD's server and xfrd processes) may outlive it by a moment.
      signalGroup(pid, "SIGKILL");
    },
  };
}

/** Runs a command to completion, bounded in time; rejects with its output when it fails. */
export async function run(
  name: string,
  command: string,
  args: readonly string[],
  timeoutSeconds: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  const child = start(name, command, args, { onStdout: (c) => chunks.push(c) });
  const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), timeoutSeconds * 1000);
  const how = await child.exited;
  clearTimeout(timer);
  if (!how.endsWith("status 0")) throw new Error(`${how}\n${child.output()}`);
  return Buffer.concat(chunks).toString("utf8");
}

/** Last resort on exit: SIGKILL to every child group still running. Synchronous, for process.on("exit"). */
export function killAllNow(): void {
  for (const proc of live) if (proc.pid !== undefined) signalGroup(proc.pid, "SIGKILL");
  live.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...live].map(async (proc) => {
      if (proc.pid === undefined) return;
      signalGroup(proc.pid, "SIGTERM");
      const killer = setTimeout(() => proc.pid !== undefined && signalGroup(proc.pid, "SIGKILL"), 3_000);
      await new Promise((resolve) => (proc.exitCode !== null ? resolve(null) : proc.once("exit", resolve)));
      clearTimeout(killer);
    }),
  );
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}
