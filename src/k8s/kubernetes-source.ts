/**
 * The live source: informers on Services, Pods and Nodes (core/v1) and EndpointSlices (discovery.k8s.io/v1) feed
 * the catalog; every event schedules a coalesced rebuild of the snapshot. Limited to some namespaces, it runs one
 * informer per namespace and kind on the namespaced collections (a field selector cannot name several namespaces,
 * and namespaced paths let a Role per namespace replace the ClusterRole); Nodes are cluster-scoped and always
 * watched. While the API server cannot be reached, the last data keeps being served and a warning says how old it
 * is, once the silence timeout has passed and then once a minute.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Catalog } from "../discovery/catalog.js";
import type { NodeInfo, PodInfo, ServiceInfo, SliceInfo } from "../discovery/model.js";
import type { ZoneStore } from "../zone/store.js";
import { toNode, toPod, toService, toSlice, type Warn } from "./convert.js";
import {
  type BackoffPolicy,
  DEFAULT_SILENCE_TIMEOUT,
  type InformerEvents,
  type ResourceSpec,
  SupervisedInformer,
} from "./informer.js";
import { listPage } from "./list-page.js";

export interface SourceObserver {
  activity?(kind: string, type: string): void;
  error?(kind: string, err: unknown): void;
}

export interface KubernetesSourceOptions {
  /** Restart policy of the informers; tests shorten it. */
  readonly backoff?: BackoffPolicy;
  /** Seconds a list or watch may deliver nothing before it is restarted; also when stale data is first reported. */
  readonly silenceTimeout?: number;
  /** Namespaces to watch; empty or absent means all. */
  readonly namespaces?: readonly string[];
}

/** Seconds between two warnings while the data stays stale. */
const STALE_REPEAT = 60;

export class KubernetesSource {
  private readonly informers: SupervisedInformer<unknown>[] = [];
  /** Registered at construction, so that nothing is answered negatively before the first sync. */
  private readonly markSynced: () => void;
  private readonly silenceTimeout: number;
  private staleTimer: NodeJS.Timeout | undefined;
  /** Milliseconds since the epoch of the last staleness warning; 0 while the data is current. */
  private warnedAt = 0;

  constructor(
    kc: KubeConfig,
    catalog: Catalog,
    store: ZoneStore,
    private readonly log: Logger,
    warn: Warn,
    observer: SourceObserver = {},
    options: KubernetesSourceOptions = {},
  ) {
    this.markSynced = store.registerSource("kubernetes");
    this.silenceTimeout = options.silenceTimeout ?? DEFAULT_SILENCE_TIMEOUT;
    const publish = () => store.publishSoon();
    const supervision = { backoff: options.backoff, silenceTimeout: this.silenceTimeout };
    const informer = <T>(
      resource: Omit<ResourceSpec<T>, "list">,
      set: (info: T) => void,
      remove: (ns: string, name: string) => void,
    ) => {
      const events: InformerEvents<T> = {
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
      };
      const spec: ResourceSpec<T> = { ...resource, list: (page) => listPage(kc, resource.path, page) };
      this.informers.push(
        new SupervisedInformer(spec, kc, events, log, supervision) as SupervisedInformer<unknown>,
      );
    };
    const scopes: (string | undefined)[] = options.namespaces?.length ? [...options.namespaces] : [undefined];
    for (const namespace of scopes) {
      const core1 = namespace === undefined ? "/api/v1" : `/api/v1/namespaces/${namespace}`;
      const disco1 =
        namespace === undefined
          ? "/apis/discovery.k8s.io/v1"
          : `/apis/discovery.k8s.io/v1/namespaces/${namespace}`;
      informer<ServiceInfo>(
        {
          kind: "Service",
          path: `${core1}/services`,
          convert: (o) => toService(o, warn),
        },
        (s) => catalog.setService(s),
        (ns, n) => catalog.deleteService(ns, n),
      );
      informer<SliceInfo>(
        {
          kind: "EndpointSlice",
          path: `${disco1}/endpointslices`,
          convert: (o) => toSlice(o, warn),
        },
        (s) => catalog.setSlice(s),
        (ns, n) => catalog.deleteSlice(ns, n),
      );
      informer<PodInfo>(
        {
          kind: "Pod",
          path: `${core1}/pods`,
          convert: (o) => toPod(o, warn),
        },
        (p) => catalog.setPod(p),
        (ns, n) => catalog.deletePod(ns, n),
      );
    }
    // Nodes carry the topology zone that tells which zone a querying pod is in; only name and zone are kept.
    informer<NodeInfo>(
      {
        kind: "Node",
        path: "/api/v1/nodes",
        convert: toNode,
      },
      (n) => catalog.setNode(n),
      (_ns, n) => catalog.deleteNode(n),
    );
  }

  /** Starts every informer; the store counts as synced once all have listed. */
  start(): Promise<void> {
    for (const informer of this.informers) informer.start();
    return Promise.all(this.informers.map((i) => i.synced)).then(() => {
      this.log.info("kubernetes: initial sync complete");
      this.markSynced();
      this.watchStaleness();
    });
  }

  stop(): void {
    clearInterval(this.staleTimer);
    for (const informer of this.informers) informer.stop();
  }

  /**
   * Milliseconds since the epoch when the data of each kind was last confirmed by the API server (an event, a
   * bookmark or a list), for staleness metrics; with several namespaces, that of the least recently heard one.
   */
  lastEvents(): { kind: string; at: number }[] {
    const byKind = new Map<string, number>();
    for (const i of this.informers)
      byKind.set(i.kind, Math.min(byKind.get(i.kind) ?? i.lastEventAt, i.lastEventAt));
    return [...byKind].map(([kind, at]) => ({ kind, at }));
  }

  /**
   * A healthy informer hears from the API server at least once per bookmark period, well within the silence
   * timeout; data older than that means the API server is out of reach. /readyz stays ready meanwhile: taking
   * every replica out of its Service would be worse than answering from data a little old.
   */
  private watchStaleness(): void {
    const period = Math.min(15, Math.max(0.1, this.silenceTimeout / 4)) * 1000;
    this.staleTimer = setInterval(() => this.reportStaleness(Date.now()), period);
    this.staleTimer.unref();
  }

  private reportStaleness(now: number): void {
    const events = this.lastEvents();
    const ages = Object.fromEntries(events.map((e) => [e.kind, Math.round((now - e.at) / 1000)]));
    const oldest = (now - Math.min(...events.map((e) => e.at))) / 1000;
    if (oldest >= this.silenceTimeout) {
      if (now - this.warnedAt < STALE_REPEAT * 1000) return;
      this.warnedAt = now;
      const seconds = Math.round(oldest);
      this.log.warn(
        { staleSeconds: seconds, secondsSinceContact: ages },
        `kubernetes API out of reach: serving data last confirmed ${seconds} s ago`,
      );
    } else if (this.warnedAt > 0) {
      this.warnedAt = 0;
      this.log.info({ secondsSinceContact: ages }, "kubernetes API reachable again: data is current");
    }
  }
}
