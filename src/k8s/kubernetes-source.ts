/**
 * The live source: informers on Services, Pods and Nodes (core/v1) and EndpointSlices (discovery.k8s.io/v1) feed
 * the catalog; every event schedules a coalesced rebuild of the snapshot.
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Catalog } from "../discovery/catalog.js";
import type { NodeInfo, PodInfo, ServiceInfo, SliceInfo } from "../discovery/model.js";
import type { ZoneStore } from "../zone/store.js";
import { toNode, toPod, toService, toSlice, type Warn } from "./convert.js";
import { type BackoffPolicy, type InformerEvents, SupervisedInformer } from "./informer.js";

export interface SourceObserver {
  activity?(kind: string, type: string): void;
  error?(kind: string, err: unknown): void;
}

export class KubernetesSource {
  private readonly informers: SupervisedInformer<unknown>[] = [];
  /** Registered at construction, so that nothing is answered negatively before the first sync. */
  private readonly markSynced: () => void;

  constructor(
    kc: KubeConfig,
    catalog: Catalog,
    store: ZoneStore,
    private readonly log: Logger,
    warn: Warn,
    observer: SourceObserver = {},
    backoff?: BackoffPolicy,
  ) {
    this.markSynced = store.registerSource("kubernetes");
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const publish = () => store.publishSoon();
    const events = <T>(
      set: (info: T) => void,
      remove: (ns: string, name: string) => void,
    ): InformerEvents<T> => ({
      set: (ns, name, info) => {
        if (info === undefined) remove(ns, name);
        else set(info);
        publish();
      },
      remove: (ns, name) => {
        remove(ns, name);
        publish();
      },
      activity: observer.activity,
      error: observer.error,
    });
    const services = new SupervisedInformer<ServiceInfo>(
      {
        kind: "Service",
        path: "/api/v1/services",
        list: () => core.listServiceForAllNamespaces(),
        convert: (o) => toService(o, warn),
      },
      kc,
      events(
        (s) => catalog.setService(s),
        (ns, n) => catalog.deleteService(ns, n),
      ),
      log,
      backoff,
    );
    const slices = new SupervisedInformer<SliceInfo>(
      {
        kind: "EndpointSlice",
        path: "/apis/discovery.k8s.io/v1/endpointslices",
        list: () => discovery.listEndpointSliceForAllNamespaces(),
        convert: (o) => toSlice(o, warn),
      },
      kc,
      events(
        (s) => catalog.setSlice(s),
        (ns, n) => catalog.deleteSlice(ns, n),
      ),
      log,
      backoff,
    );
    const pods = new SupervisedInformer<PodInfo>(
      {
        kind: "Pod",
        path: "/api/v1/pods",
        list: () => core.listPodForAllNamespaces(),
        convert: (o) => toPod(o, warn),
      },
      kc,
      events(
        (p) => catalog.setPod(p),
        (ns, n) => catalog.deletePod(ns, n),
      ),
      log,
      backoff,
    );
    // Nodes carry the topology zone that tells which zone a querying pod is in; only name and zone are kept.
    const nodes = new SupervisedInformer<NodeInfo>(
      { kind: "Node", path: "/api/v1/nodes", list: () => core.listNode(), convert: toNode },
      kc,
      events(
        (n) => catalog.setNode(n),
        (_ns, n) => catalog.deleteNode(n),
      ),
      log,
      backoff,
    );
    this.informers.push(services, slices, pods, nodes);
  }

  /** Starts every informer; the store counts as synced once all have listed. */
  start(): Promise<void> {
    for (const informer of this.informers) informer.start();
    return Promise.all(this.informers.map((i) => i.synced)).then(() => {
      this.log.info("kubernetes: initial sync complete");
      this.markSynced();
    });
  }

  stop(): void {
    for (const informer of this.informers) informer.stop();
  }

  /** Milliseconds since the epoch of the newest event per kind, for staleness metrics. */
  lastEvents(): { kind: string; at: number }[] {
    return this.informers.map((i) => ({ kind: i.kind, at: i.lastEventAt }));
  }
}
