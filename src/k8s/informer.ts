/**
 * A supervised informer: client-node's ListWatch (list, watch from the list's resourceVersion, relist on 410 Gone)
 * wrapped once with what its 1.x release lacks. It restarts after an error with jittered exponential backoff (the
 * 1.x informer stops for good), asks for bookmarks and a server-side watch timeout, restarts a list or watch that
 * has gone silent, converts each object to its slim form before the informer caches it, and exposes a synced
 * promise and the time the data was last confirmed by the API server.
 *
 * Silence bound: the apiserver sends every watch a bookmark about once a minute (and 2 s before the watch's
 * timeout), so a healthy watch is never quiet for `silenceTimeout` (90 s by default). A list or watch that has
 * delivered nothing (no event, no bookmark, no response) for `silenceTimeout` is abandoned and restarted after the
 * backoff delay: a stalled stream is noticed within `silenceTimeout` of the last thing it delivered.
 */
import { type KubeConfig, ListWatch, Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";

/**
 * What the informer's cache keeps of an object: its identity (name, namespace, resourceVersion, which is how
 * ListWatch tells an unchanged object on a relist) and podns's converted form. One object per cached entry, its own
 * `metadata`: the cache holds one of these for every Service, EndpointSlice and Pod.
 */
export class SlimObject<T> {
  constructor(
    readonly name: string,
    readonly namespace: string | undefined,
    readonly resourceVersion: string | undefined,
    readonly info: T | undefined,
  ) {}

  /** The shape ListWatch reads (`metadata.name`, `.namespace`, `.resourceVersion`). */
  get metadata(): SlimObject<T> {
    return this;
  }
}

export interface ResourceSpec<T> {
  /** Kind for logs and metrics: "Service", "EndpointSlice", "Pod". */
  readonly kind: string;
  /** API path of the collection, e.g. `/api/v1/services` or `/api/v1/namespaces/shop/services`. */
  readonly path: string;
  /**
   * Lists one page of the collection: at most `limit` objects, from `continue` (the previous page's
   * `metadata.continue`) or from the start.
   */
  readonly list: (page: PageRequest) => Promise<ListPage>;
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON of one object, from a list page or a watch event.
  readonly convert: (obj: any) => T | undefined;
}

/** One page of a list (Kubernetes API concepts, "Retrieving large results sets in chunks"). */
export interface PageRequest {
  readonly limit: number;
  readonly continue: string | undefined;
}

/** One page as the API server sends it: every page carries the list's resourceVersion. */
export interface ListPage {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  // biome-ignore lint/suspicious/noExplicitAny: raw JSON objects of the listed kind.
  readonly items: readonly any[];
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

export interface SupervisionOptions {
  readonly backoff?: BackoffPolicy;
  /** Seconds a running list or watch may deliver nothing before it is restarted. */
  readonly silenceTimeout?: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initial: 0.5, max: 30 };
/** Seconds: one and a half times the apiserver's bookmark period (about a minute, cacher.go `bookmarkFrequency`). */
export const DEFAULT_SILENCE_TIMEOUT = 90;
/** Seconds the API server keeps one watch open before ending it cleanly (the informer then re-watches). */
const WATCH_TIMEOUT_SECONDS = 300;
/**
 * Objects per list page. Each page is slimmed before the next is asked for, so the whole list never exists as
 * JSON or as full objects at once; 500 is client-go's pager default.
 */
export const LIST_PAGE_SIZE = 500;

/** A list or watch that delivered nothing for the silence timeout. */
export class WatchSilentError extends Error {
  override readonly name = "WatchSilentError";
  constructor(kind: string, seconds: number) {
    super(`${kind}: nothing from the API server for ${seconds.toFixed(1)} s`);
  }
}

/** One watch request as the informer opened it; `dead` once podns has given up on it or it has ended. */
interface OpenWatch {
  dead: boolean;
  controller: AbortController | undefined;
  readonly done: (err: unknown) => void;
}

export class SupervisedInformer<T> {
  readonly synced: Promise<void>;
  /** Milliseconds since the epoch of the last watch event, bookmark or successful list: when the data was confirmed. */
  lastEventAt = 0;
  private markSynced!: () => void;
  private readonly informer: ListWatch<SlimObject<T>>;
  private readonly backoff: BackoffPolicy;
  private readonly silenceMs: number;
  private stopped = false;
  private failures = 0;
  /** When the current run opened its watch, 0 before; a run that lasted HEALTHY_RUN_SECONDS resets the backoff. */
  private openedAt = 0;
  /** Numbers the runs, so that a run that was given up on cannot mark itself successful later. */
  private attempt = 0;
  private failedAttempt = -1;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Milliseconds since the epoch of the last sign of life of the current run's list or watch. */
  private lastHeardAt = 0;
  private currentWatch: OpenWatch | undefined;
  private abandonList: ((err: Error) => void) | undefined;
  /** Watches in a row that expired (410 Gone) before delivering anything, and the delayed relist they cause. */
  private expiredInARow = 0;
  private relistTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly spec: ResourceSpec<T>,
    kc: KubeConfig,
    private readonly events: InformerEvents<T>,
    private readonly log: Logger,
    options: SupervisionOptions = {},
  ) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.silenceMs = (options.silenceTimeout ?? DEFAULT_SILENCE_TIMEOUT) * 1000;
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
    const watch = this.supervisedWatch(new Watch(kc));
    this.informer = new ListWatch(spec.path, watch, this.supervisedList.bind(this) as never, false);
    this.informer.on("add", (o) => this.onSet(o));
    this.informer.on("update", (o) => this.onSet(o));
    this.informer.on("delete", (o) => {
      if (this.stopped) return;
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
    clearTimeout(this.relistTimer);
    clearTimeout(this.watchdog);
    void this.informer.stop();
    // The informer forgets a watch whose request was still connecting when it was replaced; abort it here.
    this.currentWatch?.controller?.abort();
  }

  private async run(): Promise<void> {
    const attempt = ++this.attempt;
    this.heard();
    this.armWatchdog();
    try {
      await this.informer.start();
    } catch (err) {
      // client-node reports failures through its error event; anything thrown instead is one too.
      this.onError(err);
    }
    if (this.stopped || attempt !== this.attempt || this.failedAttempt === attempt) return;
    this.openedAt = Date.now();
    this.markSynced();
  }

  private onSet(o: SlimObject<T>): void {
    if (this.stopped) return;
    this.touch("SET");
    this.events.set(o.metadata.namespace ?? "", o.metadata.name, o.info);
  }

  private touch(type: string): void {
    this.lastEventAt = Date.now();
    this.events.activity?.(this.spec.kind, type);
  }

  private heard(): void {
    this.lastHeardAt = Date.now();
  }

  private onError(err: unknown): void {
    // stop() and start() on a running informer abort the request; that is not a failure.
    if (this.stopped || (err as { name?: string })?.name === "AbortError") return;
    this.failedAttempt = this.attempt;
    clearTimeout(this.watchdog);
    // A run that stayed up a while counts as a recovery, so a watch cut now and then (an API server restart, a
    // load balancer's idle timeout) reconnects at once; the churn bench showed answers up to 5 s stale when the
    // delay kept growing across cuts 30 s apart. One that fails sooner (a server that accepts the watch and drops it
    // at once) keeps the delay growing, so it is never a tight loop.
    const healthyMs = Math.min(HEALTHY_RUN_SECONDS, this.backoff.max) * 1000;
    if (this.openedAt > 0 && Date.now() - this.openedAt >= healthyMs) this.failures = 0;
    this.openedAt = 0;
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

  /**
   * Checks, one silence timeout after the last sign of life, that the run's list or watch is still delivering; a
   * silent one is abandoned as a failure, which restarts it after the backoff delay.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    const check = () => {
      const quiet = Date.now() - this.lastHeardAt;
      if (quiet >= this.silenceMs && this.abandon(new WatchSilentError(this.spec.kind, quiet / 1000))) return;
      this.watchdog = setTimeout(check, Math.max(this.silenceMs - quiet, this.silenceMs / 10));
      this.watchdog.unref();
    };
    this.watchdog = setTimeout(check, this.silenceMs);
    this.watchdog.unref();
  }

  /** Fails the pending list or the open watch with `err`; false when neither is running. */
  private abandon(err: Error): boolean {
    if (this.abandonList !== undefined) {
      // The informer reports the rejected list through its error event, which restarts the run.
      this.abandonList(err);
      return true;
    }
    const w = this.currentWatch;
    if (w === undefined || w.dead) return false;
    w.dead = true;
    this.currentWatch = undefined;
    // The informer aborts the watch's request and reports the error.
    w.done(err);
    w.controller?.abort();
    return true;
  }

  /**
   * The spec's list page by page, each page slimmed before the next is fetched, and abandoned (rejected) by the
   * watchdog when the API server stops answering. The watch starts from the resourceVersion of the first page
   * (every page of one list carries it). A failed page, including 410 Gone for a continue token that expired
   * meanwhile, fails the whole list: the informer reports it and the run restarts from a fresh list.
   */
  private supervisedList(): Promise<{ metadata?: { resourceVersion?: string }; items: SlimObject<T>[] }> {
    return new Promise((resolve, reject) => {
      const abandon = (err: Error) => {
        this.abandonList = undefined;
        reject(err);
      };
      this.abandonList = abandon;
      const items: SlimObject<T>[] = [];
      let resourceVersion: string | undefined;
      const next = (token: string | undefined) =>
        this.spec.list({ limit: LIST_PAGE_SIZE, continue: token }).then(
          (page) => {
            if (this.abandonList !== abandon) return;
            this.heard();
            resourceVersion ??= page.metadata?.resourceVersion;
            for (const o of page.items) items.push(this.slim(o));
            const token = page.metadata?.continue;
            if (token) return void next(token);
            this.abandonList = undefined;
            this.touch("LIST");
            resolve({ metadata: { resourceVersion }, items });
          },
          (err: unknown) => {
            if (this.abandonList === abandon) abandon(err as Error);
          },
        );
      void next(undefined);
    });
  }

  /**
   * A Watch that asks for bookmarks and a server timeout, slims objects before the informer sees them, records
   * every sign of life for the watchdog, and drops whatever a watch given up on still delivers.
   */
  private supervisedWatch(watch: Watch): Watch {
    const open: Watch["watch"] = async (path, params, callback, done) => {
      if (this.stopped) return abortedController();
      const w: OpenWatch = { dead: false, controller: undefined, done };
      this.currentWatch = w;
      let expired = false;
      let delivered = false;
      const controller = await watch.watch(
        path,
        { ...params, allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_SECONDS },
        (phase, obj, raw) => {
          if (w.dead) return;
          this.heard();
          if (phase === "ERROR") expired ||= isGone(obj);
          else delivered = true;
          if (phase === "BOOKMARK") this.touch("BOOKMARK");
          callback(phase, phase === "ERROR" || phase === "BOOKMARK" ? obj : this.slim(obj), raw);
        },
        (err) => {
          if (w.dead) return;
          w.dead = true;
          if (this.currentWatch === w) this.currentWatch = undefined;
          this.ended(expired || isGone(err), delivered, () => done(err));
        },
      );
      w.controller = controller;
      if (w.dead) controller.abort();
      else this.heard();
      return controller;
    };
    return { watch: open } as unknown as Watch;
  }

  /**
   * Passes the end of a watch on to the informer, which relists at once after 410 Gone. A watch that expires again
   * before delivering anything (an API server whose watch cache lags its lists) would make that a tight loop of
   * full lists; from the second such expiry in a row the relist waits for a backoff delay.
   */
  private ended(expired: boolean, delivered: boolean, pass: () => void): void {
    if (delivered || !expired) this.expiredInARow = 0;
    if (!expired || delivered || ++this.expiredInARow < 2) {
      pass();
      return;
    }
    const delay = jitteredDelay(this.backoff, this.expiredInARow - 1);
    this.log.warn(
      { kind: this.spec.kind, expiredInARow: this.expiredInARow, relistInSeconds: delay },
      "watch expired (410 Gone) again right after a list; relisting after a delay",
    );
    clearTimeout(this.relistTimer);
    this.relistTimer = setTimeout(() => {
      if (!this.stopped) pass();
    }, delay * 1000);
  }

  private slim(obj: unknown): SlimObject<T> {
    const meta =
      (obj as { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }).metadata ?? {};
    return new SlimObject(meta.name ?? "", meta.namespace, meta.resourceVersion, this.spec.convert(obj));
  }
}

/** Full jitter (a uniform draw up to the exponential ceiling), so that replicas do not reconnect in step. */
/** Seconds a watch must have stayed open for its end to count as a fresh start rather than another failure. */
const HEALTHY_RUN_SECONDS = 5;

export function jitteredDelay(policy: BackoffPolicy, failures: number): number {
  const ceiling = Math.min(policy.max, policy.initial * 2 ** Math.max(0, failures - 1));
  return policy.initial / 2 + Math.random() * (ceiling - policy.initial / 2);
}

/** 410 Gone, as an ERROR event's Status or as the HTTP status of the watch request. */
function isGone(status: unknown): boolean {
  const s = status as { code?: unknown; statusCode?: unknown } | null | undefined;
  return s?.code === 410 || s?.statusCode === 410;
}

function abortedController(): AbortController {
  const controller = new AbortController();
  controller.abort();
  return controller;
}
