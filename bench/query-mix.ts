/**
 * The query mix every server gets, as a dnsperf input file: 45% A of Services, 30% SRV, 10% per-pod A, 10% names
 * that do not exist, 5% Service names (A or SRV) in mixed letter case. Services and endpoints are drawn uniformly
 * with a fixed seed, so every run and every server sees the same file.
 */
import { writeFileSync } from "node:fs";
import {
  namespaceOf,
  podName,
  type SyntheticCluster,
  serviceName,
  srvName,
  ZONE,
} from "./synthetic-cluster.js";

export type Category = "service-a" | "srv" | "pod-a" | "nxdomain" | "mixed-case";

export interface Query {
  readonly name: string;
  readonly type: "A" | "SRV";
  readonly category: Category;
}

const MIX: readonly [Category, number][] = [
  ["service-a", 45],
  ["srv", 30],
  ["pod-a", 10],
  ["nxdomain", 10],
  ["mixed-case", 5],
];

/** Lines in the file; dnsperf loops over it. Long enough that per-pod and NXDOMAIN names rarely repeat soon. */
const LINES = 200_000;

export function makeQueries(cluster: SyntheticCluster, seed = 20_260_101): Query[] {
  const random = mulberry32(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const { services, endpoints } = cluster.size;
  const queries: Query[] = [];
  for (let i = 0; i < LINES; i++) {
    const category = categoryAt(random() * 100);
    const s = pick(services);
    switch (category) {
      case "service-a":
        queries.push({ name: serviceName(s), type: "A", category });
        break;
      case "srv":
        queries.push({ name: srvName(s), type: "SRV", category });
        break;
      case "pod-a":
        queries.push({ name: podName(s, cluster.endpointAddress(s, pick(endpoints))), type: "A", category });
        break;
      case "nxdomain":
        queries.push({ name: missingName(s, pick(3), pick(1_000)), type: "A", category });
        break;
      case "mixed-case": {
        const srv = random() < 0.4;
        const name = mixCase(srv ? srvName(s) : serviceName(s), random);
        queries.push({ name, type: srv ? "SRV" : "A", category });
        break;
      }
    }
  }
  return queries;
}

export function writeQueryFile(path: string, queries: readonly Query[]): void {
  writeFileSync(path, queries.map((q) => `${q.name} ${q.type}\n`).join(""));
}

/** How many queries of each category the file holds, in percent. */
export function shares(queries: readonly Query[]): Record<Category, number> {
  const out: Record<Category, number> = { "service-a": 0, srv: 0, "pod-a": 0, nxdomain: 0, "mixed-case": 0 };
  for (const q of queries) out[q.category]++;
  for (const k of Object.keys(out) as Category[]) out[k] = (100 * out[k]) / queries.length;
  return out;
}

function categoryAt(percent: number): Category {
  let acc = 0;
  for (const [category, share] of MIX) {
    acc += share;
    if (percent < acc) return category;
  }
  return "service-a";
}

/** Three kinds of name error seen in clusters: a wrong namespace, a missing Service, a search-list expansion. */
function missingName(s: number, kind: number, k: number): string {
  if (kind === 0) return `svc-${s}.default.svc.${ZONE}`;
  if (kind === 1) return `nx-${k}.${namespaceOf(s)}.svc.${ZONE}`;
  return `${serviceName(s)}.${namespaceOf(s)}.svc.${ZONE}`;
}

function mixCase(name: string, random: () => number): string {
  let out = "";
  for (const ch of name) out += random() < 0.5 ? ch.toUpperCase() : ch;
  return out;
}

/** A small, fast seeded PRNG (public domain), so query files are the same from run to run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
