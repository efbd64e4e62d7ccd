/**
 * The tools the benchmark drives and the machine it runs on. It installs nothing: a missing tool stops it with the
 * Debian packages to install.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from dist-bench/bench/). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PODNS_BIN = path.join(ROOT, "bin", "podns.js");
/** The node flags of the image's ENTRYPOINT (Dockerfile), so that the bench measures podns as it ships. */
export const PODNS_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1"];
/** The environment the image sets for podns's memory (Dockerfile). */
export const PODNS_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: "131072" };

/** Servers run on CPU 0; dnsperf and the harness itself on CPU 1. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

const TOOLS = [
  { name: "nsd", debian: "nsd" },
  { name: "dnsperf", debian: "dnsperf" },
  { name: "taskset", debian: "util-linux" },
] as const;
export type Tool = (typeof TOOLS)[number]["name"];

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  readonly nsd: string;
  readonly dnsperf: string;
  readonly loadAtStart: string;
  /** The podns code measured: commit, and whether src/ differed from it. */
  readonly code: string;
}

/** Absolute paths of the tools; throws a message naming the missing ones and their Debian packages. */
export function findTools(): Record<Tool, string> {
  const found: Partial<Record<Tool, string>> = {};
  const missing: (typeof TOOLS)[number][] = [];
  for (const tool of TOOLS) {
    const where = locate(tool.name);
    if (where === undefined) missing.push(tool);
    else found[tool.name] = where;
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((t) => t.debian))].join(" ");
    throw new Error(
      `missing: ${missing.map((t) => `${t.name} (Debian package ${t.debian})`).join(", ")}.\n` +
        `Install with: apt-get install ${packages}`,
    );
  }
  if (!existsSync(path.join(ROOT, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (npm run bench does)");
  }
  if (cpuCount() < 2) throw new Error("the benchmark needs 2 CPUs: servers on CPU 0, dnsperf on CPU 1");
  return found as Record<Tool, string>;
}

/** Moves every thread of this process to one CPU, so that the harness stays off the servers' CPU. */
export function pinSelf(taskset: string, cpu: number): void {
  execFileSync(taskset, ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" });
}

export function describeMachine(tools: Record<Tool, string>): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  return {
    cpus: cpuCount(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryBytes: Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nsd: firstMatch(tools.nsd, ["-v"], /NSD version (\S+)/),
    dnsperf: firstMatch(tools.dnsperf, ["-h"], /Version (\S+)/),
    loadAtStart: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
    code: codeVersion(),
  };
}

function codeVersion(): string {
  const git = (args: string[]) =>
    spawnSync("git", ["-C", ROOT, ...args], { encoding: "utf8", timeout: 5_000 });
  const head = git(["rev-parse", "--short", "HEAD"]).stdout?.trim();
  if (!head) return "unknown (not a git checkout)";
  const dirty = git(["status", "--porcelain", "--", "src"]).stdout?.trim();
  return dirty ? `${head} with uncommitted changes in src/` : head;
}

function cpuCount(): number {
  return os.availableParallelism();
}

function locate(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

function firstMatch(command: string, args: string[], pattern: RegExp): string {
  const out = spawnSync(command, args, { encoding: "utf8", timeout: 5_000 });
  return pattern.exec(`${out.stdout}\n${out.stderr}`)?.[1] ?? "unknown";
}
