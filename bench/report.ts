/** The results as a Markdown section for BENCHMARKS.md. */
import type { Machine } from "./environment.js";
import type { BenchOptions } from "./options.js";
import type { ScaleResult } from "./scale.js";
import type { SideBySide } from "./side-by-side.js";
import type { Capacity, Latency } from "./throughput.js";

export interface Report {
  readonly command: string;
  readonly started: Date;
  readonly seconds: number;
  readonly machine: Machine;
  readonly loadAtEnd: string;
  readonly options: BenchOptions;
  readonly sideBySide: SideBySide;
  readonly scale: readonly ScaleResult[];
  readonly quiet: { seconds: number; waits: number };
}

export function renderReport(r: Report): string {
  const { services, endpoints } = r.options.cluster;
  const title = `${r.started.toISOString().slice(0, 16).replace("T", " ")} UTC — ${r.options.preset}${r.options.quick ? " (quick)" : ""}, ${n(services)} Services × ${n(endpoints)} endpoints`;
  return [
    `## ${title}`,
    "",
    ...machineLines(r),
    "",
    ...queryPathSection(r),
    "",
    ...propagationSection(r.sideBySide),
    "",
    ...scaleSection(r.scale),
    "",
    ...searchDetails(r.sideBySide.capacity),
    "",
  ].join("\n");
}

function machineLines(r: Report): string[] {
  const m = r.machine;
  return [
    `- Command: \`${r.command}\` (${(r.seconds / 60).toFixed(1)} minutes)`,
    `- Machine: ${m.cpus} CPUs (${m.cpuModel}), ${gib(m.memoryBytes)} GiB memory, ${m.kernel}; load average ` +
      `${m.loadAtStart} at the start, ${r.loadAtEnd} at the end`,
    `- Software: podns ${m.code}; Node.js ${m.node}, NSD ${m.nsd}, dnsperf ${m.dnsperf}`,
    "- Servers pinned to CPU 0 (`taskset -c 0`), dnsperf and the harness to CPU 1; everything on 127.0.0.1",
    `- Checked that both CPUs were idle before each load run: ${r.quiet.seconds.toFixed(0)} s in all, each check ` +
      `measuring for at least a second; ${r.quiet.waits} of them waited for other work to finish`,
  ];
}

function queryPathSection(r: Report): string[] {
  const s = r.sideBySide;
  const [podns, nsd, bare] = s.capacity as [Capacity, Capacity, Capacity];
  const [lp, ln, lb] = s.latency as [Latency, Latency, Latency];
  const a = s.agreement;
  const mix = s.mix;
  const at = `at ${n(s.latencyRate)}/s`;
  const rows: [string, number, number, number, (v: number) => string][] = [
    ["zero-loss queries/s", podns.zeroLossQps, nsd.zeroLossQps, bare.zeroLossQps, n],
    [
      "unthrottled queries/s",
      podns.unthrottled.result.qps,
      nsd.unthrottled.result.qps,
      bare.unthrottled.result.qps,
      n,
    ],
    [`mean latency ${at} (ms)`, lp.mean * 1e3, ln.mean * 1e3, lb.mean * 1e3, ms],
    [`p50 latency ${at} (ms)`, lp.p50 * 1e3, ln.p50 * 1e3, lb.p50 * 1e3, ms],
    [`p99 latency ${at} (ms)`, lp.p99 * 1e3, ln.p99 * 1e3, lb.p99 * 1e3, ms],
    [`p99.9 latency ${at} (ms)`, lp.p999 * 1e3, ln.p999 * 1e3, lb.p999 * 1e3, ms],
    [`CPU s per 100k queries ${at}`, lp.cpuPer100k, ln.cpuPer100k, lb.cpuPer100k, cpu],
    [
      "CPU s per 100k queries, unthrottled",
      podns.unthrottled.cpuPer100k,
      nsd.unthrottled.cpuPer100k,
      bare.unthrottled.cpuPer100k,
      cpu,
    ],
    ["resident memory, MiB (VmRSS)", mib(lp.memory.rss), mib(ln.memory.rss), mib(lb.memory.rss), one],
    ["proportional set size, MiB (PSS)", mib(lp.memory.pss), mib(ln.memory.pss), mib(lb.memory.pss), one],
    [
      "mean response size, bytes",
      lp.result.responseBytes,
      ln.result.responseBytes,
      lb.result.responseBytes,
      n,
    ],
    [`queries lost ${at}, 1,000 in flight`, lp.result.lost, ln.result.lost, lb.result.lost, n],
    [`datagrams dropped by the server socket ${at}`, lp.socket.drops, ln.socket.drops, lb.socket.drops, n],
    [
      "socket receive buffer, KiB",
      (lp.socket.receiveBuffer ?? Number.NaN) / 1024,
      (ln.socket.receiveBuffer ?? Number.NaN) / 1024,
      (lb.socket.receiveBuffer ?? Number.NaN) / 1024,
      n,
    ],
  ];
  const disturbance = [podns, nsd, bare].map((c) => {
    const worst = Math.max(...c.steps.map((st) => st.disturbance));
    const repeats = c.steps.length - new Set(c.steps.map((st) => st.offered)).size;
    return `${c.server} ${pct(worst * 100)} (${repeats} repeated steps)`;
  });
  const latencyDisturbance = [lp, ln, lb].map(
    (l) => `${l.server} ${pct(l.disturbance * 100)} (${l.attempts} run${l.attempts > 1 ? "s" : ""})`,
  );
  return [
    `### Query path: ${n(s.names.services)} Services, ${n(s.names.pods)} per-pod names (${n(s.objects)} objects)`,
    "",
    `Query mix (${n(s.queryLines)}-line dnsperf file, EDNS on): ${pct(mix["service-a"])} A of Services, ` +
      `${pct(mix.srv)} SRV, ${pct(mix["pod-a"])} per-pod A, ${pct(mix.nxdomain)} NXDOMAIN, ` +
      `${pct(mix["mixed-case"])} mixed-case Service names. NSD serves \`podns export-zone\`'s ` +
      `${s.zoneFiles.join(", ")} with \`rrl-ratelimit: 0\` and one server process; its memory is the sum over ` +
      `its ${ln.memory.processes} processes (PSS counts their shared pages once).`,
    "",
    `Same answers: ${a.agree} of ${a.compared} sampled queries agree between podns and NSD (rcode and answer ` +
      `records)${a.truncated ? `, ${a.truncated} truncated and skipped` : ""}` +
      `${a.unanswered ? `, ${a.unanswered} unanswered` : ""}.` +
      (a.examples.length ? ` Disagreements:\n${a.examples.map((e) => `  - ${e}`).join("\n")}` : ""),
    "",
    "| | podns | NSD | bare Node.js | podns / NSD | podns / bare |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      ([label, p, d, b, f]) => `| ${label} | ${f(p)} | ${f(d)} | ${f(b)} | ${ratio(p, d)} | ${ratio(p, b)} |`,
    ),
    "",
    "Zero-loss: the highest delivered rate of a `-Q` run with 100 queries in flight that lost nothing and " +
      "delivered 97% of the offered rate. Latency, CPU, memory and loss: one run per server at half of podns's " +
      "zero-loss rate with up to 1,000 queries in flight, so that a server that stalls overflows its socket.",
    "",
    `Response codes ${at}: podns ${lp.result.rcodes}; NSD ${ln.result.rcodes}; bare ${lb.result.rcodes}.`,
    "",
    `Client CPU (dnsperf's) busy during the unthrottled runs: ${[podns, nsd, bare]
      .map((c) => `${c.server} ${pct(c.unthrottled.clientBusy * 100)}`)
      .join(", ")}; near 100% the client, not the server, sets the rate. ` +
      `Other processes' share of CPU 0, worst search step: ${disturbance.join(", ")}; during the latency run: ` +
      `${latencyDisturbance.join(", ")}. Steps disturbed by more than 2% are repeated up to twice.`,
  ];
}

function propagationSection(s: SideBySide): string[] {
  const p = s.propagation;
  return [
    "### Propagation of EndpointSlice changes",
    "",
    `${p.changes} changes, one at a time, on the cluster above after the load runs: from \`apply\` in the fake API ` +
      "server to the first UDP answer with the new per-pod address. " +
      `p50 ${ms(p.p50 * 1e3)} ms, p99 ${ms(p.p99 * 1e3)} ms, max ${ms(p.max * 1e3)} ms, mean ${ms(p.mean * 1e3)} ms; ` +
      `${p.timedOut} not seen within 10 s. ${n(p.pollsPerChange)} polling queries per change on average; the ` +
      `longest wait for one answer was ${ms(p.longestPollWait * 1e3)} ms (a query waits while podns's event ` +
      "loop is busy with a change).",
    `podns after all runs: ${one(mib(s.podnsMemoryAtEnd.rss))} MiB resident; after a full garbage collection ` +
      (s.podnsHeapAtEnd
        ? `${one(mib(s.podnsHeapAtEnd.heapUsed))} MiB of heap used, ${one(mib(s.podnsHeapAtEnd.heapTotal))} MiB ` +
          `of heap reserved, ${one(mib(s.podnsHeapAtEnd.external))} MiB external.`
        : "heap n/a."),
  ];
}

function scaleSection(results: readonly ScaleResult[]): string[] {
  if (results.length === 0) return [];
  return [
    "### Scale: start-up sync, memory, cost of one change",
    "",
    "A fresh fake API server and podns per size; time and CPU from starting the process to its first answer " +
      "from the synced cluster; memory right after that and after a full garbage collection (heap from " +
      "`process.memoryUsage()` through a preloaded probe, bench/heap-probe.ts); then the propagation of EndpointSlice " +
      "changes at that size.",
    "",
    "| Services × endpoints | objects | start to first answer (s) | CPU to sync (s) | RSS after sync (MiB) | " +
      "RSS after GC (MiB) | heap used after GC (MiB) | change p50 (ms) | change p99 (ms) | longest unanswered " +
      "poll (ms) | changes not seen |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results
      .map((r) =>
        [
          `${n(r.size.services)} × ${n(r.size.endpoints)}`,
          n(r.objects),
          r.startSeconds.toFixed(2),
          r.syncCpuSeconds.toFixed(2),
          one(mib(r.afterSync.rss)),
          one(mib(r.afterGc.rss)),
          r.heap ? one(mib(r.heap.heapUsed)) : "n/a",
          ms(r.propagation.p50 * 1e3),
          ms(r.propagation.p99 * 1e3),
          ms(r.propagation.longestPollWait * 1e3),
          `${r.propagation.timedOut} of ${r.propagation.changes}`,
        ].join(" | "),
      )
      .map((row) => `| ${row} |`),
  ];
}

function searchDetails(capacity: readonly Capacity[]): string[] {
  const lines = ["<details><summary>Zero-loss search steps</summary>", ""];
  for (const c of capacity) {
    const steps = c.steps.map((s) => {
      const offered = s.offered === undefined ? "unthrottled" : `${n(s.offered)}/s`;
      const verdict = s.offered === undefined ? "" : s.pass ? " pass" : " fail";
      const others = s.disturbance > 0.02 ? `, others ${pct(s.disturbance * 100)} of CPU 0` : "";
      const client = `client CPU ${pct(s.clientBusy * 100)}`;
      return `${offered} → ${n(s.result.qps)}/s, ${n(s.result.lost)} lost${verdict} (${client}${others})`;
    });
    lines.push(`- ${c.server}: ${steps.join("; ")}`);
  }
  lines.push("", "</details>");
  return lines;
}

function n(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a";
}

function ms(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  return v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0);
}

function cpu(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : "n/a";
}

function one(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : "n/a";
}

function pct(v: number): string {
  return `${v.toFixed(1)}%`;
}

function mib(bytes: number): number {
  return bytes / 2 ** 20;
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}
