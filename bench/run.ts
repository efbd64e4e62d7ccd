/**
 * `npm run bench`: podns against NSD and a bare Node.js responder on one machine, then start-up, memory and change
 * propagation at several cluster sizes; the results are appended to BENCHMARKS.md. Every child process is killed
 * and the temporary folder removed when the run ends, fails or is interrupted.
 */
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RunContext } from "./context.js";
import { CLIENT_CPU, describeMachine, findTools, pinSelf, ROOT } from "./environment.js";
import { type BenchOptions, parseOptions, USAGE } from "./options.js";
import { killAllNow, stopAll } from "./processes.js";
import { QuietWaiter } from "./quiet.js";
import { renderReport } from "./report.js";
import { type ScaleResult, scaleRun } from "./scale.js";
import { sideBySide } from "./side-by-side.js";

const HEADER = `# podns benchmarks

Written by \`npm run bench\` (bench/run.ts, one script per scenario in bench/); each run appends a section. One
command on one machine: a synthetic cluster (headless Services with a selector, EndpointSlices of up to 100 ready
endpoints, one Pod per endpoint, one pod in ten weighted) is put into the fake Kubernetes API server
(test/support/fake-apiserver.ts) and served by podns through its real informers (\`podns serve --kubeconfig\`, a
separate process); \`podns export-zone\` writes the same records for NSD, and the answers of both are compared
before any load. dnsperf (one socket, one thread, EDNS) drives each server in turn with the same query file.

- **zero-loss queries/s**: the highest delivered rate of a dnsperf run with \`-Q\` (100 queries in flight, 1 s
  timeout) that lost no query and delivered at least 97% of the offered rate; a bisection between 0.5 and 1.25
  times the unthrottled rate, after a 2 s warm-up. dnsperf has one core: when that core is near 100% busy (reported),
  the client sets the rate and the server's figure is a lower bound.
- **latency, CPU, memory, loss**: one run per server at half of podns's zero-loss rate with up to 1,000 queries in
  flight, from dnsperf's per-answer latencies (\`-v\`; dnsperf 2.10 prints no percentiles). CPU is user + system
  time of the server's processes (/proc/PID/stat) per 100,000 answers; memory is VmRSS (and PSS, which counts
  pages shared between NSD's processes once); drops are the server socket's (/proc/net/udp).
- **propagation**: an EndpointSlice change (one endpoint moved to a fresh address) applied in the fake API server,
  until a raw UDP query for the new per-pod name gets its A record; one change at a time.
- **heap**: podns exports no heap metrics; the bench preloads bench/heap-probe.ts (\`node --import\`), which on
  SIGUSR2 runs a full garbage collection and reports \`process.memoryUsage()\`.
- The machine may be shared: before each load run the harness waits (bounded) for both CPUs to be idle, measures
  other processes' share of the servers' CPU during the run, and repeats a disturbed run up to twice.
`;

/** Seconds to wait for a quiet machine before one load run, and over the whole benchmark. */
const QUIET_PER_RUN = 30;
const QUIET_BUDGET = 120;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts === "help") {
    console.log(USAGE);
    return;
  }
  const tools = findTools();
  const machine = describeMachine(tools);
  pinSelf(tools.taskset, CLIENT_CPU);
  const dir = mkdtempSync(path.join(os.tmpdir(), "podns-bench-"));
  const cleanUp = () => {
    killAllNow();
    if (!opts.keepTemp) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", cleanUp);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping`);
      process.exit(130);
    });
  }
  const started = new Date();
  const log = (line: string) =>
    console.error(`[${((Date.now() - started.getTime()) / 1000).toFixed(0)}s] ${line}`);
  try {
    const ctx: RunContext = { tools, quiet: new QuietWaiter(QUIET_PER_RUN, QUIET_BUDGET), log };
    const side = await sideBySide(ctx, path.join(dir, "side-by-side"), opts);
    const scale = await scaleRuns(ctx, dir, opts);
    const markdown = renderReport({
      command: commandLine(),
      started,
      seconds: (Date.now() - started.getTime()) / 1000,
      machine,
      loadAtEnd: os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
      options: opts,
      sideBySide: side,
      scale,
      quiet: ctx.quiet.summary(),
    });
    console.log(markdown);
    if (opts.output !== undefined) {
      const file = path.resolve(ROOT, opts.output);
      if (!existsSync(file)) writeFileSync(file, HEADER);
      appendFileSync(file, `\n${markdown}`);
      log(`appended to ${file}`);
    }
  } finally {
    await stopAll();
    if (opts.keepTemp) log(`kept ${dir}`);
  }
}

async function scaleRuns(ctx: RunContext, dir: string, opts: BenchOptions): Promise<ScaleResult[]> {
  const out: ScaleResult[] = [];
  for (const size of opts.scale) {
    const sub = path.join(dir, `scale-${size.services}x${size.endpoints}`);
    out.push(await scaleRun(ctx, sub, size, opts.changes));
  }
  return out;
}

function commandLine(): string {
  const args = process.argv.slice(2);
  return args.length ? `npm run bench -- ${args.join(" ")}` : "npm run bench";
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  // The exit handler kills what is left and removes the temporary folder.
  process.exit(1);
});
