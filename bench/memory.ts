/**
 * `npm run bench:memory -- [SxE ...] [--snapshot DIR] [--runs N] [--node-flag=F ...]`: only the memory part of the scale runs, for
 * quick iteration on podns's footprint. For each cluster size (default 100x10, 10000x10, 1000x100) a fresh fake API
 * server and podns (heap probe preloaded): seconds to the first synced answer, CPU seconds spent on it, VmRSS right
 * after the sync, peak VmRSS (VmHWM), then after a full collection VmRSS and process.memoryUsage(). With
 * `--snapshot DIR`, podns also writes a V8 heap snapshot there after that collection (readable in Chrome DevTools);
 * `--node-flag` replaces the node flags of the image (PODNS_NODE_FLAGS), e.g. `--node-flag=--max-semi-space-size=16`.
 * Prints one JSON line per run on stdout; sizes in MiB, times in seconds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { findTools } from "./environment.js";
import { readHeap } from "./heap.js";
import type { ClusterSize } from "./options.js";
import { stopAll } from "./processes.js";
import { cpuSeconds, memory } from "./procfs.js";
import { startPodns } from "./servers.js";
import { SyntheticCluster, serviceName } from "./synthetic-cluster.js";

const DEFAULT_SIZES = ["100x10", "10000x10", "1000x100"];
const MIB = 1024 * 1024;

async function measure(
  size: ClusterSize,
  dir: string,
  snapshotDir: string | undefined,
  nodeFlags: readonly string[] | undefined,
) {
  const tools = findTools();
  mkdirSync(dir, { recursive: true });
  const fake = await FakeApiServer.start();
  try {
    const cluster = new SyntheticCluster(fake, size);
    cluster.populate();
    const kubeconfig = await fake.writeKubeconfig(dir);
    const heapFile = path.join(dir, "heap.json");
    const snapshot =
      snapshotDir && path.join(snapshotDir, `podns-${size.services}x${size.endpoints}.heapsnapshot`);
    const podns = await startPodns(tools, kubeconfig, serviceName(size.services - 1), {
      heapFile,
      heapSnapshot: snapshot,
      nodeFlags,
      timeoutSeconds: 600,
    });
    try {
      const syncCpu = cpuSeconds(podns.child.pid);
      const afterSync = memory(podns.child.pid).rss;
      const peak = peakRss(podns.child.pid);
      const heap = await readHeap(podns.child.pid, heapFile);
      const afterGc = memory(podns.child.pid).rss;
      const mappings = rssByMapping(podns.child.pid);
      const lists = fake.countRequests({ method: "GET", watch: false });
      return {
        size: `${size.services}x${size.endpoints}`,
        objects: cluster.objectCount(),
        syncSeconds: round(podns.startSeconds),
        syncCpuSeconds: round(syncCpu),
        rssAfterSync: mib(afterSync),
        peakRss: mib(peak),
        rssAfterGc: mib(afterGc),
        heapUsedAfterGc: heap && mib(heap.heapUsed),
        heapTotalAfterGc: heap && mib(heap.heapTotal),
        externalAfterGc: heap && mib(heap.external),
        arrayBuffersAfterGc: heap && mib(heap.arrayBuffers),
        listRequests: lists,
        rssByMappingAfterGc: mappings,
      };
    } finally {
      await podns.child.stop();
    }
  } finally {
    await fake.stop();
  }
}

function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * Resident MiB by kind of mapping: `brk` (the main malloc arena), `anon` (V8's heap pages, other malloc arenas,
 * large allocations), `file` (the node binary, libraries), `other` ([stack], [vdso], ...).
 */
function rssByMapping(pid: number): Record<string, number> {
  const out: Record<string, number> = { brk: 0, anon: 0, file: 0, other: 0 };
  let kind = "other";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1] ?? "";
      kind = path === "" ? "anon" : path === "[heap]" ? "brk" : path.startsWith("/") ? "file" : "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind]! += Number(rss[1]) * 1024;
  }
  for (const k of Object.keys(out)) out[k] = mib(out[k]!);
  return out;
}

const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
const round = (s: number) => Math.round(s * 100) / 100;

function parseSize(text: string): ClusterSize {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not SERVICESxENDPOINTS`);
  return { services: Number(m[1]), endpoints: Number(m[2]) };
}

const USAGE = `usage: npm run bench:memory -- [SxE ...] [--runs N] [--snapshot DIR] [--node-flag=F ...]

  SxE             cluster sizes, Services x endpoints (default ${DEFAULT_SIZES.join(" ")})
  --runs N        runs per size (default 1)
  --snapshot DIR  also write a V8 heap snapshot per run to DIR
  --node-flag=F   node flags for podns instead of the image's (repeatable)

Prints one JSON line per run: sizes in MiB, times in seconds. Needs the Debian packages npm run bench needs.`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      snapshot: { type: "string" },
      runs: { type: "string", default: "1" },
      "node-flag": { type: "string", multiple: true },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sizes = (positionals.length ? positionals : DEFAULT_SIZES).map(parseSize);
  const snapshotDir = values.snapshot && path.resolve(values.snapshot);
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const dir = mkdtempSync(path.join(os.tmpdir(), "podns-memory-"));
  try {
    for (const size of sizes) {
      for (let r = 0; r < Number(values.runs); r++) {
        console.log(
          JSON.stringify(await measure(size, path.join(dir, String(r)), snapshotDir, values["node-flag"])),
        );
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:memory: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
