/**
 * Churn: podns under steady query load while the cluster keeps changing. A synthetic cluster (1,000 Services × 10
 * endpoints) in the fake API server is served by `podns serve --kubeconfig` (a separate process, pinned to CPU 0
 * like the other benchmarks); dnsperf then runs for `--seconds` at half of a quick unthrottled measurement while the
 * fake API server moves one endpoint of one Service to a fresh address every 100 ms (cycling through the Services)
 * and cuts every watch every 30 s. A side probe (raw UDP, at most 20 queries/s, one at a time) asks for the A records
 * of recently changed Services and checks that every answer is an address set the API server actually held at
 * some time. Reported: response codes (SERVFAIL expected 0), lost queries (expected 0), podns's VmRSS every 10 s,
 * and the probe's verdicts. The section is appended to BENCHMARKS.md unless --no-write.
 *
 * Usage: npm run bench:churn -- [--seconds N] [--no-write]
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { DnsProbe, QTYPE } from "./dns-probe.js";
import { dnsperf, type PerfResult } from "./dnsperf.js";
import { CLIENT_CPU, describeMachine, findTools, pinSelf, ROOT } from "./environment.js";
import { type HeapUsage, readHeap } from "./heap.js";
import { killAllNow, stopAll } from "./processes.js";
import { memory } from "./procfs.js";
import { makeQueries, writeQueryFile } from "./query-mix.js";
import { startPodns } from "./servers.js";
import { ascending, percentile } from "./stats.js";
import { SyntheticCluster, serviceName } from "./synthetic-cluster.js";

const SIZE = { services: 1_000, endpoints: 10 } as const;
const CHANGE_EVERY_MS = 100;
const DROP_WATCHES_EVERY_MS = 30_000;
const MEMORY_EVERY_MS = 10_000;
/** Milliseconds of load after which resident memory should stay flat (see the report's steady spread). */
const STEADY_AFTER_MS = 60_000;
/** Side probe: queries per second at most, and each query's timeout. */
const PROBE_RATE = 20;
const PROBE_TIMEOUT_MS = 1_000;
/** The probe asks for one of the Services changed by the last this-many changes (the last 5 s). */
const PROBE_WINDOW = 50;
/** Seconds of the unthrottled run that sets the load rate. */
const PEAK_SECONDS = 5;
const SYNC_TIMEOUT = 120;

interface ProbeTally {
  sent: number;
  /** Answer equal to the Service's address set in the API server when the answer arrived. */
  current: number;
  /** Answer equal to an earlier set of that Service (the change had not reached podns yet). */
  earlier: number;
  /** Answer equal to no set the API server ever held for that Service. */
  inconsistent: number;
  servfail: number;
  otherRcode: number;
  truncated: number;
  unanswered: number;
  examples: string[];
  /** For each "earlier" answer, ms from the change that replaced the answered set to the answer. */
  staleMs: number[];
}

const USAGE = `usage: npm run bench:churn -- [--seconds N] [--no-write] [--output FILE]

  --seconds N     seconds of load and churn (default 300, at least 10)
  --no-write      print the results only
  --output FILE   append the results to FILE (default BENCHMARKS.md)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      seconds: { type: "string", default: "300" },
      "no-write": { type: "boolean", default: false },
      output: { type: "string", default: "BENCHMARKS.md" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const seconds = Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 10)
    throw new Error(`--seconds: "${values.seconds}" (at least 10)`);
  const tools = findTools();
  const machine = describeMachine(tools);
  pinSelf(tools.taskset, CLIENT_CPU);
  const dir = mkdtempSync(path.join(os.tmpdir(), "podns-churn-"));
  process.once("exit", () => {
    killAllNow();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\nchurn: ${signal}, stopping`);
      process.exit(130);
    });
  }
  const started = new Date();
  const log = (line: string) =>
    console.error(`[${((Date.now() - started.getTime()) / 1000).toFixed(0)}s] ${line}`);

  const fake = await FakeApiServer.start();
  try {
    const cluster = new SyntheticCluster(fake, SIZE);
    cluster.populate();
    const kubeconfig = await fake.writeKubeconfig(dir);
    const queryFile = path.join(dir, "queries.txt");
    writeQueryFile(queryFile, makeQueries(cluster));
    log(`${cluster.objectCount()} objects in the API server; starting podns`);
    const heapFile = path.join(dir, "heap.json");
    const podns = await startPodns(tools, kubeconfig, serviceName(SIZE.services - 1), {
      heapFile,
      timeoutSeconds: SYNC_TIMEOUT,
    });
    log(`podns answering after ${podns.startSeconds.toFixed(2)} s; measuring the unthrottled rate`);
    const peak = await dnsperf(tools, podns.port, queryFile, { seconds: PEAK_SECONDS, outstanding: 100 });
    const rate = Math.round(peak.qps / 2);
    const heapBefore = await readHeap(podns.child.pid, heapFile);
    log(`unthrottled ${Math.round(peak.qps)}/s; churn for ${seconds} s at ${rate}/s`);

    // Every address set each Service has had in the API server, as sorted, comma-joined strings, with the time
    // (performance.now()) the next change replaced it.
    const history: Map<string, number>[] = [];
    const current: string[] = [];
    const setOf = (s: number) => {
      const list: string[] = [];
      for (let e = 0; e < SIZE.endpoints; e++) list.push(cluster.endpointAddress(s, e));
      return list.sort().join(",");
    };
    for (let s = 0; s < SIZE.services; s++) {
      current.push(setOf(s));
      history.push(new Map([[current[s]!, Number.POSITIVE_INFINITY]]));
    }
    const changed: number[] = [];
    let changes = 0;
    let drops = 0;
    const rss: number[] = [];
    const tally: ProbeTally = {
      sent: 0,
      current: 0,
      earlier: 0,
      inconsistent: 0,
      servfail: 0,
      otherRcode: 0,
      truncated: 0,
      unanswered: 0,
      examples: [],
      staleMs: [],
    };

    const runStart = performance.now();
    const runEnd = runStart + seconds * 1000;
    rss.push(memory(podns.child.pid).rss);
    const load = dnsperf(tools, podns.port, queryFile, { seconds, rate, outstanding: 1_000 });
    let loadDone = false;
    void load.finally(() => {
      loadDone = true;
    });

    // One scheduler loop for changes, watch drops and memory samples: bounded by runEnd and by dnsperf's end.
    const scheduler = (async () => {
      let nextChange = runStart + CHANGE_EVERY_MS;
      let nextDrop = runStart + DROP_WATCHES_EVERY_MS;
      let nextMemory = runStart + MEMORY_EVERY_MS;
      while (!loadDone && performance.now() < runEnd) {
        const wake = Math.min(nextChange, nextDrop, nextMemory, runEnd);
        await sleep(Math.max(0, wake - performance.now()));
        const now = performance.now();
        if (now >= runEnd) break;
        if (now >= nextChange) {
          const s = changes % SIZE.services;
          const e = Math.floor(changes / SIZE.services) % SIZE.endpoints;
          cluster.replaceEndpoint(s, e);
          history[s]!.set(current[s]!, performance.now());
          current[s] = setOf(s);
          history[s]!.set(current[s]!, Number.POSITIVE_INFINITY);
          changed.push(s);
          changes++;
          nextChange += CHANGE_EVERY_MS;
          // Changes missed while the harness was busy are skipped, not made up in a burst.
          if (nextChange < now) nextChange = now + CHANGE_EVERY_MS;
        }
        if (now >= nextDrop) {
          fake.dropWatches();
          drops++;
          nextDrop += DROP_WATCHES_EVERY_MS;
        }
        if (now >= nextMemory) {
          rss.push(memory(podns.child.pid).rss);
          nextMemory += MEMORY_EVERY_MS;
        }
      }
    })();

    const prober = (async () => {
      const probe = await DnsProbe.open(podns.port);
      try {
        let next = performance.now();
        while (!loadDone && performance.now() < runEnd) {
          next += 1000 / PROBE_RATE;
          await sleep(Math.max(0, next - performance.now()));
          if (changed.length === 0) continue;
          const s = changed[Math.max(0, changed.length - 1 - (tally.sent % PROBE_WINDOW))]!;
          tally.sent++;
          const reply = await probe.query(serviceName(s), QTYPE.A, PROBE_TIMEOUT_MS);
          if (reply === undefined) tally.unanswered++;
          else if (reply.rcode === 2) tally.servfail++;
          else if (reply.rcode !== 0) tally.otherRcode++;
          else if (reply.truncated) tally.truncated++;
          else {
            const got = reply.answers
              .map((a) => a.replace(/^A /, ""))
              .sort()
              .join(",");
            if (got === current[s]) tally.current++;
            else if (history[s]!.has(got)) {
              tally.earlier++;
              tally.staleMs.push(performance.now() - history[s]!.get(got)!);
            } else {
              tally.inconsistent++;
              if (tally.examples.length < 5) tally.examples.push(`${serviceName(s)}: ${got || "(empty)"}`);
            }
          }
          // Keep up after a slow answer, but never send faster than the rate.
          if (next < performance.now()) next = performance.now();
        }
      } finally {
        probe.close();
      }
    })();

    const result = await load;
    await Promise.all([scheduler, prober]);
    rss.push(memory(podns.child.pid).rss);
    const heapAfter = await readHeap(podns.child.pid, heapFile);
    const rssAfterGc = memory(podns.child.pid).rss;
    const alive = podns.child.isRunning();
    log(`done: ${changes} changes, ${drops} watch drops, ${tally.sent} probe queries`);
    await podns.child.stop();

    const markdown = render({
      command: commandLine(),
      started,
      minutes: (Date.now() - started.getTime()) / 60_000,
      machine,
      seconds,
      startSeconds: podns.startSeconds,
      peak,
      rate,
      result,
      changes,
      drops,
      rss,
      tally,
      alive,
      watchRequests: fake.countRequests({ watch: true }),
      heapBefore,
      heapAfter,
      rssAfterGc,
    });
    console.log(markdown);
    if (!values["no-write"]) {
      const file = path.resolve(ROOT, values.output);
      appendFileSync(file, `\n${markdown}`);
      log(`appended to ${file}`);
    }
  } finally {
    await stopAll();
    await fake.stop();
  }
}

interface ChurnReport {
  command: string;
  started: Date;
  minutes: number;
  machine: ReturnType<typeof describeMachine>;
  seconds: number;
  startSeconds: number;
  peak: PerfResult;
  rate: number;
  result: PerfResult;
  changes: number;
  drops: number;
  rss: number[];
  tally: ProbeTally;
  alive: boolean;
  watchRequests: number;
  heapBefore: HeapUsage | undefined;
  heapAfter: HeapUsage | undefined;
  rssAfterGc: number;
}

function render(r: ChurnReport): string {
  const m = r.machine;
  const servfail = rcodeCount(r.result.rcodes, "SERVFAIL");
  const first = r.rss[0]!;
  const max = Math.max(...r.rss);
  const last = r.rss[r.rss.length - 1]!;
  const spread = ((max - Math.min(...r.rss)) / first) * 100;
  // From the sample at 10 s on: the load and the first changes have warmed podns up.
  const warm = r.rss.slice(1);
  const warmSpread = ((Math.max(...warm) - Math.min(...warm)) / warm[0]!) * 100;
  // From the sample at 60 s on: the heap probe's full collection before the load shrinks V8's old generation, which
  // the load then grows back to its working size (heap reserved 73 MiB before, about 105 MiB under load).
  const steady = r.rss.slice(STEADY_AFTER_MS / MEMORY_EVERY_MS);
  const steadySpread =
    steady.length > 1 ? ((Math.max(...steady) - Math.min(...steady)) / steady[0]!) * 100 : Number.NaN;
  const t = r.tally;
  const answered = t.current + t.earlier + t.inconsistent;
  const stale = ascending(t.staleMs);
  const heap = (h: HeapUsage | undefined) =>
    h
      ? `${mib(h.heapUsed)} used, ${mib(h.heapTotal)} reserved, ${mib(h.external)} external, ${mib(h.rss)} RSS`
      : "n/a";
  return [
    `## ${r.started.toISOString().slice(0, 16).replace("T", " ")} UTC — churn, ${n(SIZE.services)} Services × ${n(SIZE.endpoints)} endpoints, ${n(r.seconds)} s`,
    "",
    `- Command: \`${r.command}\` (${r.minutes.toFixed(1)} minutes)`,
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB memory, ${m.kernel}; ` +
      `load average ${m.loadAtStart} at the start, ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at the end`,
    `- Software: podns ${m.code}; Node.js ${m.node}, dnsperf ${m.dnsperf}`,
    "- podns pinned to CPU 0 (`taskset -c 0`); dnsperf, the fake API server, the churn and the probe on CPU 1; " +
      "everything on 127.0.0.1",
    "",
    `podns (\`serve --kubeconfig\`) synced ${n(SIZE.services * (2 + SIZE.endpoints))} objects and answered after ` +
      `${r.startSeconds.toFixed(2)} s. An unthrottled ${PEAK_SECONDS} s dnsperf run (100 in flight) gave ` +
      `${n(r.peak.qps)}/s; the churn run then offered half of that, ${n(r.rate)}/s, with up to 1,000 queries in ` +
      `flight and a 1 s timeout (bench/query-mix.ts; its per-pod names of moved endpoints turn into NXDOMAIN). ` +
      `Meanwhile the fake API server moved one endpoint to a fresh address every ${CHANGE_EVERY_MS} ms, cycling ` +
      `through the Services (${n(r.changes)} EndpointSlice changes), and cut every watch mid-stream every ` +
      `${DROP_WATCHES_EVERY_MS / 1000} s (${r.drops} times; ${r.watchRequests} watch requests in all).`,
    "",
    "| | |",
    "| --- | ---: |",
    `| queries sent / completed | ${n(r.result.sent)} / ${n(r.result.completed)} |`,
    `| delivered queries/s | ${n(r.result.qps)} |`,
    `| mean latency (ms) | ${(r.result.meanLatency * 1e3).toFixed(3)} |`,
    `| SERVFAIL answers | ${n(servfail)} |`,
    `| queries lost (no answer within 1 s) | ${n(r.result.lost)} |`,
    `| VmRSS first (before the load) / max / last (MiB), ${r.rss.length} samples every ${MEMORY_EVERY_MS / 1000} s | ` +
      `${mib(first)} / ${mib(max)} / ${mib(last)} |`,
    `| VmRSS spread (max − min) over first | ${spread.toFixed(1)}% |`,
    `| VmRSS spread from the 10 s sample on (max − min over the 10 s sample) | ${warmSpread.toFixed(1)}% |`,
    `| VmRSS spread from the ${STEADY_AFTER_MS / 1000} s sample on (max − min over that sample) | ${steadySpread.toFixed(1)}% |`,
    `| VmRSS samples (MiB) | ${r.rss.map(mib).join(", ")} |`,
    `| probe queries (A of a Service changed in the last ${PROBE_WINDOW} changes, ≤ ${PROBE_RATE}/s) | ${n(t.sent)} |`,
    `| probe answers equal to the current set / an earlier set / no set ever applied | ` +
      `${n(t.current)} / ${n(t.earlier)} / ${n(t.inconsistent)} |`,
    `| age of the earlier set answered: p50 / p99 / max (ms since the change that replaced it) | ` +
      `${ms(percentile(stale, 50))} / ${ms(percentile(stale, 99))} / ${ms(stale[stale.length - 1] ?? Number.NaN)} |`,
    `| earlier-set answers more than 1 s after the change | ${n(stale.filter((v) => v > 1_000).length)} |`,
    `| probe SERVFAIL / other rcode / truncated / unanswered | ${t.servfail} / ${t.otherRcode} / ${t.truncated} / ${t.unanswered} |`,
    `| heap after a full GC before the load (MiB) | ${heap(r.heapBefore)} |`,
    `| heap after a full GC at the end (MiB) | ${heap(r.heapAfter)} |`,
    `| VmRSS after that GC (MiB) | ${mib(r.rssAfterGc)} |`,
    `| podns still running at the end | ${r.alive ? "yes" : "no"} |`,
    "",
    `Response codes: ${r.result.rcodes}. Probe answers checked: ${n(answered)}; "an earlier set" is an answer ` +
      "from before a change reached podns, which a watch (or a relist after a cut) makes eventually consistent." +
      (t.examples.length ? ` Inconsistent answers:\n${t.examples.map((e) => `  - ${e}`).join("\n")}` : ""),
    "",
  ].join("\n");
}

/** "NOERROR 367246 (90.08%), NXDOMAIN 40434 (9.92%)" → the count for one rcode, 0 when absent. */
function rcodeCount(rcodes: string, name: string): number {
  const m = new RegExp(`\\b${name} (\\d+)`).exec(rcodes);
  return m ? Number(m[1]) : 0;
}

function commandLine(): string {
  const args = process.argv.slice(2);
  return `npm run bench:churn${args.length ? ` -- ${args.join(" ")}` : ""}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function n(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a";
}

function ms(v: number): string {
  return Number.isFinite(v) ? v.toFixed(v < 100 ? 2 : 0) : "n/a";
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

main().catch((err: unknown) => {
  console.error(`churn: ${err instanceof Error ? err.message : String(err)}${usageAfter(err)}`);
  process.exit(1);
});

/** The usage, after an error in the arguments only. */
function usageAfter(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const inArguments =
    (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) || String(err).includes("--");
  return inArguments ? `\n${USAGE}` : "";
}
