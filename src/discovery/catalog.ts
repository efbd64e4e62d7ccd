/**
 * The catalog: every Service, EndpointSlice, Pod and Node podns knows, in slim form, and the RRsets synthesised per
 * Service. A change re-synthesises only the Services it touches; `takeChanges` reports whether any served record
 * changed, which is what moves the SOA serial. It also keeps the index from pod IP to topology zone that tells a
 * querier's zone.
 */
import { type RrSet, sameSets } from "../dns/records.js";
import type { NodeInfo, PodInfo, ServiceInfo, SliceInfo } from "./model.js";
import { type SynthesisOptions, serviceRecords } from "./service-records.js";

/** `namespace/name`, one flat string (join; see names.ts flatName): kept per Service, slice and pod. */
const key = (namespace: string, name: string) => [namespace, name].join("/");

interface ServiceEntry {
  sets: readonly RrSet[];
  /** When the last slow-start ramp ends, in milliseconds since the epoch. */
  rampUntil: number | undefined;
}

export class Catalog {
  private readonly services = new Map<string, ServiceInfo>();
  /** Service key to its slices by slice name. */
  private readonly slicesByService = new Map<string, Map<string, SliceInfo>>();
  /** Slice key to the slice, to find its owner when it is deleted or relabelled. */
  private readonly slices = new Map<string, SliceInfo>();
  private readonly pods = new Map<string, PodInfo>();
  /** Pod key to the Services whose slices name it, with how many slices do (a plain pair for the usual one). */
  private readonly podServices = new Map<string, Owners>();
  private readonly nodes = new Map<string, NodeInfo>();
  /** Pod IP to its node's topology zone: the querier's zone when a pod asks. */
  private readonly zoneByIp = new Map<string, string>();
  private readonly served = new Map<string, ServiceEntry>();
  /** Services whose RRsets changed in the last `takeChanges`. */
  private changed = new Set<string>();
  /** Service key to (endpoint key to when podns first saw it ready). */
  private readonly firstReady = new Map<string, Map<string, number>>();
  private readonly dirty = new Set<string>();

  /** `warn` hears of a Service whose records could not be built; it is then served without records. */
  constructor(
    private readonly opts: SynthesisOptions,
    private readonly warn: (key: string, message: string) => void = () => {},
  ) {}

  setService(svc: ServiceInfo): void {
    const k = key(svc.namespace, svc.name);
    this.services.set(k, svc);
    this.dirty.add(k);
  }

  deleteService(namespace: string, name: string): void {
    const k = key(namespace, name.toLowerCase());
    if (this.services.delete(k)) this.dirty.add(k);
  }

  setSlice(slice: SliceInfo): void {
    this.deleteSlice(slice.namespace, slice.name);
    const owner = key(slice.namespace, slice.service);
    let slices = this.slicesByService.get(owner);
    if (slices === undefined) {
      slices = new Map();
      this.slicesByService.set(owner, slices);
    }
    slices.set(slice.name, slice);
    this.slices.set(key(slice.namespace, slice.name), slice);
    this.countPods(slice, owner, 1);
    this.dirty.add(owner);
  }

  deleteSlice(namespace: string, name: string): void {
    const sk = key(namespace, name);
    const slice = this.slices.get(sk);
    if (slice === undefined) return;
    const owner = key(slice.namespace, slice.service);
    this.slices.delete(sk);
    this.countPods(slice, owner, -1);
    const siblings = this.slicesByService.get(owner);
    siblings?.delete(name);
    if (siblings?.size === 0) this.slicesByService.delete(owner);
    this.dirty.add(owner);
  }

  private countPods(slice: SliceInfo, owner: string, delta: 1 | -1): void {
    for (const ep of slice.endpoints) {
      if (ep.pod === undefined) continue;
      const before = this.podServices.get(ep.pod);
      const after = count(before, owner, delta);
      if (after === undefined) this.podServices.delete(ep.pod);
      else if (after !== before) this.podServices.set(ep.pod, after);
    }
  }

  setPod(pod: PodInfo): void {
    const k = key(pod.namespace, pod.name);
    const before = this.pods.get(k);
    this.pods.set(k, pod);
    this.indexPodIps(before, pod);
    if (
      before === undefined ||
      before.weight !== pod.weight ||
      before.readySince !== pod.readySince ||
      JSON.stringify(before.labels) !== JSON.stringify(pod.labels)
    ) {
      this.touchPod(k);
    }
  }

  deletePod(namespace: string, name: string): void {
    const k = key(namespace, name);
    const before = this.pods.get(k);
    if (before === undefined) return;
    this.pods.delete(k);
    this.indexPodIps(before, undefined);
    this.touchPod(k);
  }

  setNode(node: NodeInfo): void {
    const before = this.nodes.get(node.name);
    this.nodes.set(node.name, node);
    if (before?.zone !== node.zone) this.reindexNode(node.name);
  }

  deleteNode(name: string): void {
    if (this.nodes.delete(name)) this.reindexNode(name);
  }

  /** The topology zone of a pod IP, or undefined when it is not a pod podns knows on a zoned node. */
  zoneOfAddress(address: string): string | undefined {
    return this.zoneByIp.get(address);
  }

  private indexPodIps(before: PodInfo | undefined, after: PodInfo | undefined): void {
    for (const ip of before?.ips ?? []) this.zoneByIp.delete(ip);
    const zone = after?.nodeName === undefined ? undefined : this.nodes.get(after.nodeName)?.zone;
    if (zone !== undefined) for (const ip of after!.ips) this.zoneByIp.set(ip, zone);
  }

  /** A node's zone changed: rare, so a pass over the pods is fine. */
  private reindexNode(name: string): void {
    for (const pod of this.pods.values()) if (pod.nodeName === name) this.indexPodIps(pod, pod);
  }

  private touchPod(k: string): void {
    const owners = this.podServices.get(k);
    if (owners === undefined) return;
    if (owners instanceof Map) for (const owner of owners.keys()) this.dirty.add(owner);
    else this.dirty.add(typeof owners === "string" ? owners : owners.owner);
  }

  /** Marks Services whose slow-start ramp is still running, so the next rebuild raises their weights. */
  touchRamping(): boolean {
    let any = false;
    for (const [k, entry] of this.served) {
      if (entry.rampUntil !== undefined) {
        this.dirty.add(k);
        any = true;
      }
    }
    return any;
  }

  /** True while any Service's slow-start ramp runs. */
  get ramping(): boolean {
    for (const entry of this.served.values()) if (entry.rampUntil !== undefined) return true;
    return false;
  }

  /** Re-synthesises the Services touched since the last call; true when any served record changed. */
  takeChanges(now = Date.now()): boolean {
    this.changed = new Set();
    for (const k of this.dirty) {
      if (this.synthesise(k, now)) this.changed.add(k);
    }
    this.dirty.clear();
    return this.changed.size > 0;
  }

  /** The Services whose RRsets changed in the last `takeChanges`, with their RRsets now (none when deleted). */
  *lastChanges(): Iterable<[string, readonly RrSet[]]> {
    for (const k of this.changed) yield [k, this.served.get(k)?.sets ?? []];
  }

  /** Every Service's RRsets, by Service key. */
  *entries(): Iterable<[string, readonly RrSet[]]> {
    for (const [k, entry] of this.served) yield [k, entry.sets];
  }

  private synthesise(k: string, now: number): boolean {
    const svc = this.services.get(k);
    const before = this.served.get(k);
    if (svc === undefined) {
      this.served.delete(k);
      this.firstReady.delete(k);
      return before !== undefined;
    }
    const seenBefore = this.firstReady.get(k);
    const seen = new Map<string, number>();
    const ctx = {
      now,
      pod: (podKey: string) => this.pods.get(podKey),
      firstReady: (epKey: string) => {
        const at = seenBefore?.get(epKey) ?? now;
        seen.set(epKey, at);
        return at;
      },
    };
    let result: ReturnType<typeof serviceRecords>;
    try {
      result = serviceRecords(svc, [...(this.slicesByService.get(k)?.values() ?? [])], ctx, this.opts);
    } catch (err) {
      // A name that cannot be formed (conversion should have refused it) costs this Service, not the server.
      this.warn(`Service/${k}/synthesis`, `service ${k}: no records: ${(err as Error).message}`);
      result = { sets: [], rampUntil: undefined };
    }
    // Only slow start asks; most Services record nothing, and keep no Map.
    if (seen.size > 0) this.firstReady.set(k, seen);
    else this.firstReady.delete(k);
    const rampUntil = result.rampUntil !== undefined && result.rampUntil > now ? result.rampUntil : undefined;
    if (result.sets.length === 0) {
      this.served.delete(k);
      return before !== undefined;
    }
    if (before !== undefined && sameSets(before.sets, result.sets)) {
      before.rampUntil = rampUntil;
      return false;
    }
    this.served.set(k, { sets: result.sets, rampUntil });
    return true;
  }

  /** Read-only views of what podns holds, for the debug endpoint: Services with their slices, and pods by key. */
  inspect(): {
    services: Iterable<ServiceInfo>;
    slicesOf: (svc: ServiceInfo) => readonly SliceInfo[];
    pod: (key: string) => PodInfo | undefined;
    node: (name: string) => NodeInfo | undefined;
    options: SynthesisOptions;
  } {
    return {
      services: this.services.values(),
      slicesOf: (svc) => [...(this.slicesByService.get(key(svc.namespace, svc.name))?.values() ?? [])],
      pod: (k) => this.pods.get(k),
      node: (name) => this.nodes.get(name),
      options: this.opts,
    };
  }

  /** Counts for metrics: objects held by kind. */
  counts(): { services: number; endpointSlices: number; pods: number; nodes: number } {
    return {
      services: this.services.size,
      endpointSlices: this.slices.size,
      pods: this.pods.size,
      nodes: this.nodes.size,
    };
  }
}

/**
 * The Services naming a pod: the usual one Service through one slice as the bare Service key (no object per pod),
 * one Service through several slices with the count, or a Map for several Services.
 */
type Owners = string | { readonly owner: string; readonly n: number } | Map<string, number>;

function count(owners: Owners | undefined, owner: string, delta: 1 | -1): Owners | undefined {
  if (owners === undefined) return delta > 0 ? owner : undefined;
  if (!(owners instanceof Map)) {
    const one = typeof owners === "string" ? { owner: owners, n: 1 } : owners;
    if (one.owner === owner) {
      const n = one.n + delta;
      return n > 1 ? { owner, n } : n === 1 ? owner : undefined;
    }
    if (delta < 0) return owners;
    return new Map([
      [one.owner, one.n],
      [owner, 1],
    ]);
  }
  const n = (owners.get(owner) ?? 0) + delta;
  if (n > 0) owners.set(owner, n);
  else owners.delete(owner);
  return owners.size === 0 ? undefined : owners;
}
