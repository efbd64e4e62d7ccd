/**
 * The query path in process, without sockets: podns's QueryHandler on the synthetic cluster (synced through the
 * real informers from the fake API server), driven by the bench's query mix with EDNS as dnsperf sends it. Reports
 * nanoseconds of CPU per answer and bytes of heap allocated per answer (minor collections times the young
 * generation's size), so a change to the handler can be measured without the noise of the socket and the client.
 * Usage: npm run bench:query-path -- [--services N] [--endpoints M] [--queries Q] [--rounds R]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import v8 from "node:v8";
import { pino } from "pino";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { buildQuery } from "../test/support/raw-dns.js";
import { QTYPE } from "./dns-probe.js";
import { positive } from "./options.js";
import { makeQueries } from "./query-mix.js";
import { SyntheticCluster } from "./synthetic-cluster.js";

// podns as built by `npm run build` (dist/), the code `podns serve` runs; dist-bench holds the bench only.
const { toServeConfig } = (await import(
  new URL("../../dist/config/serve-config.js", import.meta.url).href
)) as typeof import("../src/config/serve-config.js");
const { Podns } = (await import(
  new URL("../../dist/server/podns.js", import.meta.url).href
)) as typeof import("../src/server/podns.js");

const USAGE = `usage: npm run bench:query-path -- [--services N] [--endpoints M] [--queries Q] [--rounds R]

  --services N    Services in the synthetic cluster (default 1,000)
  --endpoints M   ready endpoints per Service (default 10)
  --queries Q     answers per round (default 1,000,000)
  --rounds R      rounds; the median and the best are reported (default 5)`;

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      services: { type: "string", default: "1000" },
      endpoints: { type: "string", default: "10" },
      queries: { type: "string", default: "1000000" },
      rounds: { type: "string", default: "5" },
      help: { type: "boolean", default: false },
    },
  }));
} catch (err) {
  console.error(`query-path: ${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const size = { services: count("services"), endpoints: count("endpoints") };
const perRound = count("queries");
const rounds = count("rounds");

const fake = await FakeApiServer.start();
const dir = mkdtempSync(path.join(tmpdir(), "podns-query-path-"));
const cluster = new SyntheticCluster(fake, size);
cluster.populate();
const kubeconfig = await fake.writeKubeconfig(dir);

const config = toServeConfig({
  kubeconfig,
  ttl: 5,
  clusterIp: "endpoints",
  logLevel: "warn",
  logFormat: "json",
});
const podns = new Podns(config, pino({ level: "silent" }));
await podns.startSources();
await podns.synced();

// The mix as dnsperf -e sends it: RD, one question, an OPT record with a 4,096-byte payload.
const messages = makeQueries(cluster).map((q, i) =>
  buildQuery({ id: i & 0xffff, qname: q.name, qtype: QTYPE[q.type], opt: { udpSize: 4096 } }),
);

let minor = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++;
}).observe({ entryTypes: ["gc"] });
/** Bytes of one semi-space: what a minor collection empties (new_space reports both halves). */
const semiSpace = () =>
  (v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0) / 2;

const { handler } = podns;
let sink = 0;
const run = (n: number) => {
  for (let i = 0; i < n; i++)
    sink += handler.handle(messages[i % messages.length]!, "udp", "127.0.0.1")!.length;
};
run(messages.length * 2);
const results: { ns: number; bytes: number }[] = [];
for (let r = 0; r < rounds; r++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  minor = 0;
  const cpu = process.cpuUsage();
  run(perRound);
  const used = process.cpuUsage(cpu);
  // GC entries reach the observer after the loop yields.
  await new Promise((resolve) => setTimeout(resolve, 100));
  results.push({
    ns: ((used.user + used.system) * 1000) / perRound,
    bytes: (minor * semiSpace()) / perRound,
  });
}
const ns = results.map((r) => r.ns).sort((a, b) => a - b);
const bytes = results.map((r) => r.bytes).sort((a, b) => a - b);
/** The middle value; with an even count, the mean of the two middle ones. */
const median = (v: number[]) => (v[(v.length - 1) >> 1]! + v[v.length >> 1]!) / 2;
console.log(
  `${size.services} x ${size.endpoints}, ${messages.length} queries in the mix, ${rounds} rounds of ${perRound}: ` +
    `CPU per answer median ${median(ns).toFixed(0)} ns (min ${ns[0]!.toFixed(0)}), ` +
    `heap allocated per answer about ${median(bytes).toFixed(0)} bytes (${sink > 0 ? "ok" : "?"})`,
);
await podns.stop();
await fake.stop();
rmSync(dir, { recursive: true, force: true });

/** A positive integer option; exits with the usage otherwise. */
function count(name: string): number {
  try {
    return positive(`--${name}`, values[name] as string, 0);
  } catch (err) {
    console.error(`query-path: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}
