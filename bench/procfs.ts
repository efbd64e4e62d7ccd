/**
 * CPU time and memory of a process and its descendants, from /proc. A server that forks (NSD: a main process,
 * xfrd and one server process) is measured as the whole tree.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const CLOCK_TICKS = clockTicks();

export interface Memory {
  /** Sum of VmRSS over the processes, in bytes. */
  readonly rss: number;
  /** Sum of proportional set sizes, in bytes: pages shared between the processes are counted once. */
  readonly pss: number;
  readonly processes: number;
}

/** The process and every live descendant. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** User plus system CPU seconds used so far by the tree's live processes (all their threads). */
export function cpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat !== undefined) ticks += stat.utime + stat.stime;
  }
  return ticks / CLOCK_TICKS;
}

export function memory(root: number): Memory {
  let rss = 0;
  let pss = 0;
  const pids = processTree(root);
  for (const pid of pids) {
    rss += kilobytes(readText(`/proc/${pid}/status`), "VmRSS");
    pss += kilobytes(readText(`/proc/${pid}/smaps_rollup`), "Pss");
  }
  return { rss: rss * 1024, pss: pss * 1024, processes: pids.length };
}

/** Ticks per second of /proc times: USER_HZ, 100 on every Linux build in practice. */
function clockTicks(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
}

function readStat(pid: number): { ppid: number; utime: number; stime: number } | undefined {
  const text = readText(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may contain spaces; fields after it are space-separated.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (rest.length < 13) return undefined;
  return { ppid: Number(rest[1]), utime: Number(rest[11]), stime: Number(rest[12]) };
}

function kilobytes(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** User, nice and system seconds spent so far on one CPU by all processes (interrupt time left out). */
export function cpuBusySeconds(cpu: number): number {
  const line = readText("/proc/stat")
    .split("\n")
    .find((l) => l.startsWith(`cpu${cpu} `));
  const [user = 0, nice = 0, system = 0] = (line ?? "").split(/\s+/).slice(1, 4).map(Number);
  return (user + nice + system) / CLOCK_TICKS;
}
