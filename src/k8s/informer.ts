/**
 * A supervised informer: client-node's ListWatch (list, watch from the list's resourceVersion, relist on 410 Gone)
 * wrapped once with what its 1.x release lacks. It restarts after an error with jittered exponential backoff (the
 * 1.x informer stops for good), asks for bookmarks and a server-side watch timeout, converts each object to its
 * slim form before the informer caches it, and exposes a synced promise and the time of the last event.
 */
import { type KubeConfig, ListWatch, Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";

/** What the informer's cache keeps of an object: its identity and podns's converted form. */
export interface SlimObject<T> {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
  readonly info: T | undefined;
}

export interface ResourceSpec<T> {
  /** Kind for logs and metrics: "Service", "EndpointSlice", "Pod". */
  readonly kind: string;
  /** API path of the cluster-wide collection, e.g. `/api/v1/services`. */
  readonly path: string;
  /** Lists the collection; client-node's generated API call. */
  // biome-ignore lint/suspicious/noExplicitAny: client-node list results are typed per kind.
  readonly list: () => Promise<{ metadata?: { resourceVersion?: string }; items: any[] }>;
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON or a typed model.
  readonly convert: (obj: any) => T | undefined;
}

export interface InformerEvents<T> {
  set(namespace: string, name: string, info: T | undefined): void;
  remove(namespace: string, name: string): void;
  /** Called for every event, including bookmarks; for staleness metrics. */
  activity?(kind: string, type: string): void;
  error?(kind: string, err: unknown): void;
}

export interface BackoffPolicy {
  /** Seconds before the first restart. */
  readonly initial: number;
  /** Seconds, the ceiling of the exponential growth. */
  readonly max: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initial: 0.5, max: 30 };
/** Seconds the API server keeps one watch open before ending it cleanly (the informer then re-watches). */
const WATCH_TIMEOUT_SECONDS = 300;

export class SupervisedInformer<T> {
  readonly synced: Promise<void>;
  /** Milliseconds since the epoch of the last watch event or successful list. */
  lastEventAt = 0;
  private markSynced!: () => void;
  private readonly informer: ListWatch<SlimObject<T>>;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private startErrored = false;

  constructor(
    private readonly spec: ResourceSpec<T>,
    kc: KubeConfig,
    private readonly events: InformerEvents<T>,
    private readonly log: Logger,
    private readonly backoff: BackoffPolicy = DEFAULT_BACKOFF,
  ) {
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
    const slim = (obj: unknown) => toSlim(obj, spec.convert);
    const list = async () => {
      const result = await spec.list();
      return { metadata: result.metadata, items: result.items.map(slim) };
    };
    this.informer = new ListWatch(spec.path, slimWatch(new Watch(kc), slim), list as never, false);
    this.informer.on("add", (o) => this.onSet(o));
    this.informer.on("update", (o) => this.onSet(o));
    this.informer.on("delete", (o) => {
      this.touch("DELETED");
      this.events.remove(o.metadata.namespace ?? "", o.metadata.name);
    });
    this.informer.on("error", (err) => this.onError(err));
  }

  get kind(): string {
    return this.spec.kind;
  }

  start(): void {
    this.stopped = false;
    void this.run();
  }

  /** Idempotent. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    void this.informer.stop();
  }

  private async run(): Promise<void> {
    this.startErrored = false;
    await this.informer.start();
    if (this.stopped || this.startErrored) return;
    this.failures = 0;
    this.touch("LIST");
    this.markSynced();
  }

  private onSet(o: SlimObject<T>): void {
    this.touch("SET");
    this.events.set(o.metadata.namespace ?? "", o.metadata.name, o.info);
  }

  private touch(type: string): void {
    this.lastEventAt = Date.now();
    this.events.activity?.(this.spec.kind, type);
  }

  private onError(err: unknown): void {
    // stop() and start() on a running informer abort the request; that is not a failure.
    if (this.stopped || (err as { name?: string })?.name === "AbortError") return;
    this.startErrored = true;
    this.failures++;
    this.events.error?.(this.spec.kind, err);
    const delay = jitteredDelay(this.backoff, this.failures);
    this.log.warn(
      { kind: this.spec.kind, err: String(err), retryInSeconds: delay },
      "watch failed; restarting",
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.run();
    }, delay * 1000);
  }
}

/** Full jitter (a uniform draw up to the exponential ceiling), so that replicas do not reconnect in step. */
export function jitteredDelay(policy: BackoffPolicy, failures: number): number {
  const ceiling = Math.min(policy.max, policy.initial * 2 ** Math.max(0, failures - 1));
  return policy.initial / 2 + Math.random() * (ceiling - policy.initial / 2);
}

function toSlim<T>(obj: unknown, convert: (o: unknown) => T | undefined): SlimObject<T> {
  const meta =
    (obj as { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }).metadata ?? {};
  return {
    metadata: { name: meta.name ?? "", namespace: meta.namespace, resourceVersion: meta.resourceVersion },
    info: convert(obj),
  };
}

/** A Watch that asks for bookmarks and a server timeout, and slims objects before the informer sees them. */
function slimWatch(watch: Watch, slim: (obj: unknown) => unknown): Watch {
  return {
    watch: (path, params, callback, done) =>
      watch.watch(
        path,
        { ...params, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
        (phase, obj, raw) =>
          callback(phase, phase === "ERROR" || phase === "BOOKMARK" ? obj : slim(obj), raw),
        done,
      ),
  } as Watch;
}
