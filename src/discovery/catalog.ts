/**
 * The catalog: every Service, EndpointSlice and Pod podns knows, in slim form, and the records synthesised per
 * Service. A change re-synthesises only the Services it touches; `takeChanges` reports whether any served record
 * changed, which is what moves the SOA serial.
 */
import type { Rr } from "../dns/records.js";
import type { PodInfo, ServiceInfo, SliceInfo } from "./model.js";
import { type SynthesisOptions, serviceRecords } from "./service-records.js";

const key = (namespace: string, name: string) => `${namespace}/${name}`;

interface ServiceEntry {
  records: readonly Rr[];
  /** The records in a comparable form, to tell a real change from a no-op update. */
  fingerprint: string;
}

export class Catalog {
  private readonly services = new Map<string, ServiceInfo>();
  /** Service key to its slices by slice name. */
  private readonly slicesByService = new Map<string, Map<string, SliceInfo>>();
  /** Slice key to its Service key, to find the owner when a slice is deleted or relabelled. */
  private readonly sliceOwner = new Map<string, string>();
  private readonly pods = new Map<string, PodInfo>();
  /** Pod key to the Services whose slices name it, to re-weigh them when the pod changes. */
  private readonly podServices = new Map<string, Set<string>>();
  private readonly entries = new Map<string, ServiceEntry>();
  private readonly dirty = new Set<string>();

  constructor(private readonly opts: SynthesisOptions) {}

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
    this.sliceOwner.set(key(slice.namespace, slice.name), owner);
    for (const ep of slice.endpoints) {
      if (ep.pod === undefined) continue;
      let set = this.podServices.get(ep.pod);
      if (set === undefined) {
        set = new Set();
        this.podServices.set(ep.pod, set);
      }
      set.add(owner);
    }
    this.dirty.add(owner);
  }

  deleteSlice(namespace: string, name: string): void {
    const sk = key(namespace, name);
    const owner = this.sliceOwner.get(sk);
    if (owner === undefined) return;
    this.sliceOwner.delete(sk);
    const slices = this.slicesByService.get(owner);
    slices?.delete(name);
    if (slices?.size === 0) this.slicesByService.delete(owner);
    this.dirty.add(owner);
  }

  setPod(pod: PodInfo): void {
    const k = key(pod.namespace, pod.name);
    const before = this.pods.get(k);
    this.pods.set(k, pod);
    if (before?.weight !== pod.weight) this.touchPod(k);
  }

  deletePod(namespace: string, name: string): void {
    const k = key(namespace, name);
    if (this.pods.delete(k)) this.touchPod(k);
  }

  private touchPod(k: string): void {
    const owners = this.podServices.get(k);
    if (owners === undefined) return;
    for (const owner of owners) this.dirty.add(owner);
    if (!this.pods.has(k)) this.podServices.delete(k);
  }

  /** Re-synthesises the Services touched since the last call; true when any served record changed. */
  takeChanges(): boolean {
    let changed = false;
    const lookup = (k: string) => this.pods.get(k);
    for (const k of this.dirty) {
      const svc = this.services.get(k);
      const records = svc
        ? serviceRecords(svc, [...(this.slicesByService.get(k)?.values() ?? [])], lookup, this.opts)
        : [];
      const before = this.entries.get(k);
      if (records.length === 0) {
        if (before !== undefined) changed = true;
        this.entries.delete(k);
        continue;
      }
      const fingerprint = JSON.stringify(records);
      if (before?.fingerprint === fingerprint) continue;
      this.entries.set(k, { records, fingerprint });
      changed = true;
    }
    this.dirty.clear();
    return changed;
  }

  /** The synthesised records, one array per Service. */
  *recordGroups(): Iterable<readonly Rr[]> {
    for (const entry of this.entries.values()) yield entry.records;
  }

  /** Counts for metrics: objects held by kind. */
  counts(): { services: number; endpointSlices: number; pods: number } {
    return { services: this.services.size, endpointSlices: this.sliceOwner.size, pods: this.pods.size };
  }
}
