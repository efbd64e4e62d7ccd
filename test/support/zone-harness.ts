/**
 * Zone data built from fixture files exactly as `podns serve --source` builds it (FileSource, the same conversion as
 * watch events, one Catalog and one ZoneStore), questioned through `lookup` and answered in presentation form. No
 * sockets: the wire codec has its own tests; these tables are about what podns answers.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { expect, vi } from "vitest";
import { Catalog } from "../../src/discovery/catalog.js";
import type { ClusterIpMode } from "../../src/discovery/service-records.js";
import { QClass, rcodeName, typeFromName } from "../../src/dns/constants.js";
import { fqdn, isReverseZone } from "../../src/dns/name.js";
import { formatRr } from "../../src/dns/presentation.js";
import type { RrSet } from "../../src/dns/records.js";
import { FileSource } from "../../src/k8s/manifest-source.js";
import { lookup } from "../../src/zone/lookup.js";
import { ZoneStore } from "../../src/zone/store.js";

/** Manifests of namespace `shop` and the static `cluster.local.zone`. */
export const CLUSTER_FIXTURES = fileURLToPath(new URL("../fixtures/cluster/", import.meta.url));
/** Reverse zone files `10.in-addr.arpa.` and `d.f.ip6.arpa.`: with them podns serves PTR records. */
export const REVERSE_ZONES = fileURLToPath(new URL("../fixtures/cluster/reverse/", import.meta.url));
/** Services with weights, traffic splits, slow start, draining and topology zones (test/fixtures/weights). */
export const WEIGHT_FIXTURES = fileURLToPath(new URL("../fixtures/weights/", import.meta.url));
/** A QueryHandler observer that records nothing, for in-process handlers. */
export const NO_METRICS = { observe() {}, dropped() {} };

/**
 * The harness's clock, 2025-06-18T12:00:00Z. The store derives SOA serials from the time (RFC 1982 seconds since the
 * epoch); a fixed clock makes serials, and so every negative answer, reproducible.
 */
export const CLOCK_MS = Date.UTC(2025, 5, 18, 12);

export interface HarnessOptions {
  /** Files and folders as for `--source`; default: the cluster fixtures with their reverse zones. */
  readonly paths?: readonly string[];
  /** Zones as for `--zone`, forward and reverse; default `cluster.local.`. */
  readonly zones?: readonly string[];
  readonly clusterIp?: ClusterIpMode;
  /** Seconds, for synthesised records; default 5 as in CoreDNS. */
  readonly ttl?: number;
  /** Dynamic sources registered and never synced, as a Kubernetes source before its first list completes. */
  readonly unsynced?: readonly string[];
  /** As `--prefer-same-zone`: zone variants for every Service. */
  readonly preferSameZone?: boolean;
  /** Seconds, as `--slow-start`; default off. */
  readonly slowStart?: number;
}

/** A response in presentation form; records sorted within each RRset, RRsets in section order. */
export interface Reply {
  readonly rcode: string;
  readonly aa: boolean;
  readonly answer: string[];
  readonly authority: string[];
  readonly additional: string[];
}

export interface ZoneHarness {
  /**
   * Asks `qname` (any letter case, with or without the trailing dot) for a type mnemonic, class IN; `zone` is the
   * querier's topology zone, as the query handler finds it.
   */
  ask(qname: string, qtype: string, zone?: string): Reply;
  /** Re-reads the files as SIGHUP does, then publishes; false when a file did not parse. */
  reload(): boolean;
  /** Publishes whatever the catalog and static zones hold now, as the coalescing timer would. */
  publish(): void;
  /** Completes the first sync of a source named in `unsynced`, then publishes. */
  sync(source: string): void;
  readonly catalog: Catalog;
  readonly store: ZoneStore;
  /** Every warning the conversion reported, in order, without the per-key de-duplication Podns adds. */
  readonly warnings: string[];
}

export function zoneHarness(options: HarnessOptions = {}): ZoneHarness {
  const zones = (options.zones ?? ["cluster.local."]).map((z) => fqdn(z));
  const ttl = options.ttl ?? 5;
  const paths = options.paths ?? [CLUSTER_FIXTURES, REVERSE_ZONES];
  const warnings: string[] = [];
  // As Podns wires them: synthesis into the forward zones, the store serving every zone.
  const catalog = new Catalog({
    zones: zones.filter((z) => !isReverseZone(z)),
    ttl,
    clusterIp: options.clusterIp ?? "endpoints",
    preferSameZone: options.preferSameZone,
    slowStart: options.slowStart,
  });
  const store = atClock(() => new ZoneStore({ zones, ttl }, catalog));
  const pending = new Map((options.unsynced ?? []).map((name) => [name, store.registerSource(name)]));
  const files = new FileSource({ paths, ttl }, catalog, store, pino({ level: "silent" }), (_key, message) => {
    warnings.push(message);
  });
  const publish = () => atClock(() => store.publishNow());
  files.load();
  publish();
  return {
    ask: (qname, qtype, zone) => ask(store, qname, qtype, zone),
    reload: () => {
      const ok = files.reload();
      publish();
      return ok;
    },
    publish,
    sync: (source) => {
      const synced = pending.get(source);
      if (synced === undefined) throw new Error(`${source} is not an unsynced source`);
      synced();
      publish();
    },
    catalog,
    store,
    warnings,
  };
}

function atClock<T>(build: () => T): T {
  const now = vi.spyOn(Date, "now").mockReturnValue(CLOCK_MS);
  try {
    return build();
  } finally {
    now.mockRestore();
  }
}

function ask(store: ZoneStore, qname: string, qtype: string, zone?: string): Reply {
  const type = typeFromName(qtype);
  if (type === undefined) throw new Error(`unknown type ${qtype}`);
  const outcome = lookup(store.current, fqdn(qname), type, QClass.IN, zone);
  return {
    rcode: rcodeName(outcome.rcode),
    aa: outcome.authoritative,
    answer: present(outcome.answer),
    authority: present(outcome.authority),
    additional: present(outcome.additional),
  };
}

function present(sets: readonly RrSet[]): string[] {
  return sets.flatMap((set) => set.records.map(formatRr).sort());
}

/** One row of a query table. Records are in presentation form, as `formatRr` writes them. */
export interface QueryCase {
  /** The behaviour, as a sentence: it names the test. */
  readonly says: string;
  readonly qname: string;
  readonly qtype: string;
  /** Mnemonic: NOERROR, NXDOMAIN, SERVFAIL, REFUSED. */
  readonly rcode: string;
  /** The AA flag; true unless the row says otherwise. */
  readonly aa?: boolean;
  readonly answer?: readonly string[];
  readonly authority?: readonly string[];
  readonly additional?: readonly string[];
  /** Compare the sections in order (a CNAME chain); otherwise order is not the point. */
  readonly ordered?: boolean;
  /** The querier's topology zone; none unless given. */
  readonly zone?: string;
}

/** Asks the row's question and compares rcode, AA and all three sections in one assertion. */
export function expectReply(h: ZoneHarness, row: Omit<QueryCase, "says">): void {
  const arrange = (records: readonly string[]) => (row.ordered ? [...records] : [...records].sort());
  const got = h.ask(row.qname, row.qtype, row.zone);
  expect({
    rcode: got.rcode,
    aa: got.aa,
    answer: arrange(got.answer),
    authority: arrange(got.authority),
    additional: arrange(got.additional),
  }).toEqual({
    rcode: row.rcode,
    aa: row.aa ?? true,
    answer: arrange(row.answer ?? []),
    authority: arrange(row.authority ?? []),
    additional: arrange(row.additional ?? []),
  });
}

const copies: string[] = [];

/**
 * A writable copy of a fixture folder's top-level files (manifests and zone files) in a new temporary folder, for
 * tests that edit them and reload; removeWritableCopies() deletes every copy.
 */
export function writableCopy(src: string = CLUSTER_FIXTURES): string {
  const dir = mkdtempSync(path.join(tmpdir(), "podns-fixtures-"));
  copies.push(dir);
  for (const f of readdirSync(src)) {
    const from = path.join(src, f);
    if (statSync(from).isFile()) cpSync(from, path.join(dir, f));
  }
  return dir;
}

export function removeWritableCopies(): void {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Rewrites `file` in `dir` with `change`, which must change it. */
export function editFixture(dir: string, file: string, change: (text: string) => string): void {
  const p = path.join(dir, file);
  const before = readFileSync(p, "utf8");
  const after = change(before);
  expect(after).not.toBe(before);
  writeFileSync(p, after);
}

/** A response as hex with its ID zeroed, to compare the answers of two handlers. */
export function withoutId(out: Buffer | null): string {
  expect(out).not.toBeNull();
  return Buffer.concat([Buffer.alloc(2), out!.subarray(2)]).toString("hex");
}
