/**
 * Slow start (test/fixtures/weights/slow-start.yaml): an endpoint ready for less than `slowStart` seconds weighs
 * 10% of its weight rising linearly to 100%. The seconds come from the Service's `podns.io/slow-start`, else
 * `--slow-start`; readiness from the Pod's Ready condition (`lastTransitionTime`), else from when podns first saw
 * the endpoint ready. The catalog is driven with explicit times (`takeChanges(now)`); the zone store with fake
 * timers, re-publishing at most once per TTL while a ramp runs.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Catalog } from "../../src/discovery/catalog.js";
import { QType } from "../../src/dns/constants.js";
import type { Fqdn } from "../../src/dns/name.js";
import type { SrvRecord } from "../../src/dns/records.js";
import { toPod, toService, toSlice } from "../../src/k8s/convert.js";
import { readManifest } from "../../src/k8s/manifest-source.js";
import { ZoneStore } from "../../src/zone/store.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/weights/slow-start.yaml", import.meta.url));
const ZONES = ["cluster.local." as Fqdn];
/** When the `-new` pods became ready (their Ready condition's lastTransitionTime). */
const T = Date.parse("2025-06-18T12:00:00Z");
const s = (seconds: number) => T + seconds * 1000;

/** A catalog fed the fixture (only the Services named, when given) as the file source would feed it. */
function catalogOf(opts: { slowStart?: number; only?: string } = {}) {
  const warnings: string[] = [];
  const catalog = new Catalog({ zones: ZONES, ttl: 5, clusterIp: "endpoints", slowStart: opts.slowStart });
  const warn = (_key: string, message: string) => warnings.push(message);
  for (const obj of readManifest(FIXTURE)) {
    if (opts.only !== undefined && serviceOf(obj) !== opts.only) continue;
    if (obj.kind === "Service") catalog.setService(toService(obj, warn)!);
    else if (obj.kind === "EndpointSlice") catalog.setSlice(toSlice(obj)!);
    else if (obj.kind === "Pod") catalog.setPod(toPod(obj, warn)!);
  }
  return { catalog, warnings };
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON.
function serviceOf(obj: any): string {
  if (obj.kind === "EndpointSlice") return obj.metadata.labels["kubernetes.io/service-name"];
  return obj.kind === "Pod" ? obj.metadata.labels.app : obj.metadata.name;
}

/** The SRV weights of a Service's `http` port, by pod: the old pod, always at full weight, and the new one. */
function weights(catalog: Catalog, service: string): { old: number; new: number } {
  const owner = `_http._tcp.${service}.rollout.svc.cluster.local.`;
  for (const [, group] of catalog.entries()) {
    const set = group.find((rr) => rr.type === QType.SRV && rr.name === owner);
    if (set === undefined) continue;
    const byHost = (records: readonly SrvRecord[], suffix: string) =>
      records.find((rr) => rr.target.startsWith(suffix))!.weight;
    const records = set.records as SrvRecord[];
    const [oldIp, newIp] = records.map((rr) => rr.target.split(".")[0]!).sort();
    return { old: byHost(records, oldIp!), new: byHost(records, newIp!) };
  }
  throw new Error(`no SRV for ${service}`);
}

/** The SRV weight of a pod at `fraction` of the old pod's: the old pod is the largest, scaled to 65535. */
const at = (fraction: number) => Math.round(fraction * 65_535);

/** Advances the catalog to `now` as the store's ramp timer does. */
function advance(catalog: Catalog, now: number): boolean {
  catalog.touchRamping();
  return catalog.takeChanges(now);
}

describe("slow start from the Pod's Ready condition", () => {
  it.each([
    { says: "a pod that just became ready weighs 10%", now: s(0), fraction: 0.1 },
    { says: "a pod ready for half the ramp weighs 55%", now: s(30), fraction: 0.55 },
    { says: "a pod ready for 45 of 60 seconds weighs 77.5%", now: s(45), fraction: 0.775 },
    { says: "a pod ready for 59 of 60 seconds weighs 98.5%", now: s(59), fraction: 0.985 },
    { says: "a pod ready for the whole ramp weighs 100%", now: s(60), fraction: 1 },
    { says: "a pod ready for longer weighs 100%", now: s(3600), fraction: 1 },
    { says: "a ready time ahead of the clock counts as just ready", now: s(-5), fraction: 0.1 },
  ])("$says", ({ now, fraction }) => {
    const { catalog } = catalogOf({ only: "api" });
    catalog.takeChanges(now);
    expect(weights(catalog, "api")).toEqual({ old: 65_535, new: at(fraction) });
  });

  it("is recomputed as time passes, rising at every step and ending at full weight", () => {
    const { catalog } = catalogOf({ only: "api" });
    catalog.takeChanges(s(0));
    const seen = [weights(catalog, "api").new];
    for (const t of [10, 20, 30, 40, 50, 60]) {
      expect(advance(catalog, s(t))).toBe(true);
      seen.push(weights(catalog, "api").new);
    }
    expect(seen).toEqual([0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1].map(at));
  });

  it("stops being recomputed once the ramp is over", () => {
    const { catalog } = catalogOf({ only: "api" });
    catalog.takeChanges(s(0));
    advance(catalog, s(60));
    expect(catalog.touchRamping()).toBe(false);
    expect(catalog.ramping).toBe(false);
    expect(catalog.takeChanges(s(65))).toBe(false);
  });

  it("weighs the A answer's order by the same ramp", () => {
    const { catalog } = catalogOf({ only: "api" });
    catalog.takeChanges(s(30));
    const owner = "api.rollout.svc.cluster.local.";
    const set = [...catalog.entries()]
      .flatMap(([, sets]) => sets)
      .find((rr) => rr.type === QType.A && rr.name === owner)!;
    const weightOf = (address: string) =>
      set.weights![set.records.findIndex((rr) => (rr as { address: string }).address === address)];
    expect(weightOf("10.244.10.1")).toBe(100);
    expect(weightOf("10.244.10.2")).toBeCloseTo(55, 9);
  });
});

describe("slow start from when podns first saw the endpoint ready", () => {
  it("ramps a pod podns knows no Pod for from the first time it is seen ready", () => {
    const { catalog } = catalogOf({ only: "jobs" });
    catalog.takeChanges(s(10));
    expect(weights(catalog, "jobs").new).toBe(at(0.1));
    advance(catalog, s(40));
    expect(weights(catalog, "jobs").new).toBe(at(0.55));
    advance(catalog, s(70));
    expect(weights(catalog, "jobs").new).toBe(at(1));
  });

  it("starts again when the endpoint stops being ready and comes back", () => {
    const { catalog } = catalogOf({ only: "jobs" });
    catalog.takeChanges(s(10));
    advance(catalog, s(70));
    const slice = (ready: boolean) =>
      toSlice({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "jobs-p9l3s",
          namespace: "rollout",
          labels: { "kubernetes.io/service-name": "jobs" },
        },
        addressType: "IPv4",
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        endpoints: [
          {
            addresses: ["10.244.10.41"],
            conditions: { ready: true },
            targetRef: { kind: "Pod", name: "jobs-old" },
          },
          {
            addresses: ["10.244.10.42"],
            conditions: { ready },
            targetRef: { kind: "Pod", name: "jobs-new" },
          },
        ],
      })!;
    catalog.setSlice(slice(false));
    catalog.takeChanges(s(80));
    catalog.setSlice(slice(true));
    catalog.takeChanges(s(90));
    expect(weights(catalog, "jobs").new).toBe(at(0.1));
    advance(catalog, s(120));
    expect(weights(catalog, "jobs").new).toBe(at(0.55));
  });
});

describe("the length of the ramp", () => {
  it.each([
    { says: "the annotation sets it (60 s: 55% after 30 s)", service: "api", slowStart: 600, fraction: 0.55 },
    {
      says: "--slow-start sets it for a Service without the annotation (120 s: 32.5% after 30 s)",
      service: "worker",
      slowStart: 120,
      fraction: 0.325,
    },
    { says: "without either there is no ramp", service: "worker", slowStart: undefined, fraction: 1 },
    { says: "--slow-start 0 is no ramp", service: "worker", slowStart: 0, fraction: 1 },
    {
      says: "an annotation that is not whole seconds leaves the --slow-start default",
      service: "batch",
      slowStart: 120,
      fraction: 0.325,
    },
    {
      says: "an annotation of 0 turns the ramp off whatever the default",
      service: "steady",
      slowStart: 120,
      fraction: 1,
    },
  ])("$says", ({ service, slowStart, fraction }) => {
    const { catalog } = catalogOf({ slowStart, only: service });
    catalog.takeChanges(s(30));
    expect(weights(catalog, service)).toEqual({ old: 65_535, new: at(fraction) });
  });

  it("an annotation that is not whole seconds raises one warning naming the Service and the value", () => {
    const { warnings } = catalogOf();
    expect(warnings).toEqual(['service rollout/batch: ignoring podns.io/slow-start="1m": not whole seconds']);
  });
});

describe("the zone store while a ramp runs", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Starts a store 2.5 s into api's ramp and records every publication for `seconds` of fake time. */
  async function run(seconds: number) {
    vi.useFakeTimers({ now: s(2.5) });
    const { catalog } = catalogOf({ only: "api" });
    const store = new ZoneStore({ zones: ZONES, ttl: 5 }, catalog);
    const published: { at: number; weight: number }[] = [];
    store.onPublish(() => published.push({ at: Date.now(), weight: weights(catalog, "api").new }));
    store.publishNow();
    await vi.advanceTimersByTimeAsync(seconds * 1000);
    store.stop();
    return published;
  }

  it("re-publishes at most once per TTL, raising the weight each time", async () => {
    const published = await run(60);
    expect(published.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < published.length; i++) {
      expect(published[i]!.at - published[i - 1]!.at).toBeGreaterThanOrEqual(5000);
      expect(published[i]!.weight).toBeGreaterThan(published[i - 1]!.weight);
    }
  });

  it("publishes the full weight once the ramp is over, then stops re-publishing", async () => {
    const published = await run(120);
    const last = published[published.length - 1]!;
    expect(last.weight).toBe(65_535);
    expect(last.at).toBeLessThanOrEqual(s(60) + 5000);
  });
});
