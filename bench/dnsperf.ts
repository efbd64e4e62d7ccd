/**
 * One dnsperf run, pinned to the client CPU: one socket, one thread, EDNS on (as resolvers send it), a 1 s query
 * timeout, and a 4 MB socket buffer so that answers are never dropped on the client's side. dnsperf 2.10 reports
 * no percentiles, so latency runs use `-v` (one line per answer with its latency), written to a temporary file and
 * read after the run.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLIENT_CPU, type Tool } from "./environment.js";
import { start } from "./processes.js";

export interface PerfOptions {
  readonly seconds: number;
  /** `-Q`: queries per second; unlimited when undefined. */
  readonly rate?: number;
  /** `-q`: queries in flight at most. */
  readonly outstanding: number;
  /** Called with each answer's latency in seconds (`-v`). */
  readonly onLatency?: (seconds: number) => void;
}

export interface PerfResult {
  readonly sent: number;
  readonly completed: number;
  readonly lost: number;
  readonly qps: number;
  readonly meanLatency: number;
  readonly rcodes: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

export async function dnsperf(
  tools: Record<Tool, string>,
  port: number,
  queryFile: string,
  opts: PerfOptions,
): Promise<PerfResult> {
  const args = [
    ...["-c", String(CLIENT_CPU), tools.dnsperf, "-s", "127.0.0.1", "-p", String(port), "-d", queryFile],
    ...[
      "-l",
      String(opts.seconds),
      "-c",
      "1",
      "-T",
      "1",
      "-q",
      String(opts.outstanding),
      "-t",
      "1",
      "-e",
      "-b",
      "4096",
    ],
    ...(opts.rate === undefined ? [] : ["-Q", String(Math.round(opts.rate))]),
    ...(opts.onLatency ? ["-v"] : []),
  ];
  let summary = "";
  let partial = "";
  const take = (chunk: Buffer) => {
    const lines = (partial + chunk.toString("latin1")).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith("> ")) summary += `${line}\n`;
      else if (opts.onLatency) {
        // "> NOERROR name type 0.000123"; a timed-out query is "> T name type" and has no latency.
        const latency = Number(line.slice(line.lastIndexOf(" ") + 1));
        if (line[2] !== "T" || line[3] !== " ") opts.onLatency(latency);
      }
    }
  };
  // With -v, dnsperf writes a line per answer; read through a pipe, the harness would parse them on dnsperf's CPU
  // while it runs, delaying dnsperf's receiving (measured: podns's p99 2.6-5.2 ms read live, 0.7 ms from a file).
  const file = opts.onLatency
    ? path.join(mkdtempSync(path.join(os.tmpdir(), "podns-dnsperf-")), "out")
    : undefined;
  try {
    const child = start(
      "dnsperf",
      tools.taskset,
      args,
      file === undefined ? { onStdout: take } : { stdoutFile: file },
    );
    const killer = setTimeout(() => void child.stop(), (opts.seconds + 20) * 1000);
    const how = await child.exited;
    clearTimeout(killer);
    if (file !== undefined) take(readFileSync(file));
    summary += partial;
    if (!how.endsWith("status 0")) throw new Error(`${how}\n${child.output()}\n${summary.slice(-2000)}`);
    return parseSummary(summary);
  } finally {
    if (file !== undefined) rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function parseSummary(text: string): PerfResult {
  const num = (label: string, required = true) => {
    const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(text);
    if (!m && required) throw new Error(`dnsperf output without "${label}":\n${text}`);
    return m ? Number(m[1]) : Number.NaN;
  };
  const sizes = /Average packet size:\s+request (\d+), response (\d+)/.exec(text);
  return {
    sent: num("Queries sent"),
    completed: num("Queries completed"),
    lost: num("Queries lost"),
    qps: num("Queries per second"),
    meanLatency: num("Average Latency \\(s\\)", false),
    rcodes: /Response codes:\s+(.*)/.exec(text)?.[1]?.trim() ?? "",
    requestBytes: Number(sizes?.[1] ?? 0),
    responseBytes: Number(sizes?.[2] ?? 0),
  };
}
