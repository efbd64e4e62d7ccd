/**
 * One running podns: the catalog and zone store, its sources (Kubernetes, files), the DNS listeners and the HTTP
 * side, started and stopped together. The CLI and the integration tests both start podns through this class.
 */
import type dgram from "node:dgram";
import { existsSync } from "node:fs";
import type http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { StartupError } from "../config/errors.js";
import { SERVICE_ACCOUNT_TOKEN, type ServeConfig } from "../config/serve-config.js";
import { Catalog } from "../discovery/catalog.js";
import { explainServices, heldEndpoints } from "../discovery/explain.js";
import { isReverseZone } from "../dns/name.js";
import type { Random } from "../dns/shuffle.js";
import { listenHttp } from "../http/http-server.js";
import { Metrics } from "../http/metrics.js";
import type { Warn } from "../k8s/convert.js";
import type { BackoffPolicy } from "../k8s/informer.js";
import { KubernetesSource } from "../k8s/kubernetes-source.js";
import { FileSource } from "../k8s/manifest-source.js";
import { ZoneStore } from "../zone/store.js";
import { QueryHandler } from "./handler.js";
import { formatListenAddress, type ListenAddress } from "./listen.js";
import { QueryLog } from "./query-log.js";
import { RateLimiter } from "./rate-limit.js";
import { listenTcp, type TcpListener } from "./tcp.js";
import { listenUdp } from "./udp.js";

/** Distinct warnings remembered so that each is logged once. */
const MAX_WARNED = 10_000;

/** Seconds a TCP message may take from its first byte to its last: a real client sends it in one go. */
const TCP_MESSAGE_TIMEOUT = 3;

export interface PodnsOptions {
  /** Restart policy of the informers; tests shorten it. */
  readonly backoff?: BackoffPolicy;
  /** Seconds a Kubernetes list or watch may stay silent before it is restarted; tests shorten it. */
  readonly silenceTimeout?: number;
  /** Source of randomness for answer order; tests seed it. */
  readonly random?: Random;
}

export class Podns {
  readonly metrics: Metrics;
  readonly catalog: Catalog;
  readonly store: ZoneStore;
  /** The per-query path, for in-process use (the query-path bench). */
  readonly handler: QueryHandler;
  /** One limiter across every UDP listener, so a client cannot multiply its budget by the listen addresses. */
  private readonly limiter: RateLimiter;
  private readonly queryLog: QueryLog;
  private files: FileSource | undefined;
  private kube: KubernetesSource | undefined;
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: TcpListener[] = [];
  private http: http.Server | undefined;
  private readonly warned = new Set<string>();

  constructor(
    readonly config: ServeConfig,
    private readonly log: Logger,
    private readonly options: PodnsOptions = {},
  ) {
    const forward = config.zones.filter((z) => !isReverseZone(z));
    this.catalog = new Catalog(
      {
        zones: forward,
        ttl: config.ttl,
        clusterIp: config.clusterIp,
        slowStart: config.slowStart,
        preferSameZone: config.preferSameZone,
      },
      (key, message) => this.warn(key, message),
    );
    this.store = new ZoneStore({ zones: config.zones, ttl: config.ttl }, this.catalog);
    this.metrics = new Metrics({
      endpoints: () => heldEndpoints(this.catalog.inspect()),
      lastEvents: () => this.kube?.lastEvents() ?? [],
    });
    this.queryLog = new QueryLog(this.metrics, log, config.queryLogSample);
    this.limiter = new RateLimiter(config.rateLimit, () => this.metrics.slipped());
    this.handler = new QueryHandler(this.store, this.metrics, {
      shuffle: config.shuffle,
      maxAnswers: config.maxAnswers,
      identity: config.identity,
      random: options.random,
    });
    this.store.onPublish((info) => {
      this.metrics.serial.set(info.serial);
      const counts = this.catalog.counts();
      this.metrics.objects.labels("Service").set(counts.services);
      this.metrics.objects.labels("EndpointSlice").set(counts.endpointSlices);
      this.metrics.objects.labels("Pod").set(counts.pods);
      this.metrics.objects.labels("Node").set(counts.nodes);
    });
  }

  /** A bad annotation or field is logged once per object and field, not on every event. */
  readonly warn: Warn = (key, message) => {
    if (this.warned.has(key)) return;
    // Bounded: keys carry annotation values, and endless edits to bad values must not grow memory without end.
    if (this.warned.size >= MAX_WARNED) this.warned.clear();
    this.warned.add(key);
    this.log.warn(message);
  };

  /**
   * Loads the file sources (a parse error throws StartupError with file and line) and starts the Kubernetes
   * informers without waiting for their sync: until it completes, negative answers are SERVFAIL.
   */
  async startSources(): Promise<void> {
    const { config } = this;
    if (config.sources.length > 0) {
      this.files = new FileSource(
        { paths: config.sources, ttl: config.ttl, namespaces: config.namespaces },
        this.catalog,
        this.store,
        this.log,
        this.warn,
        (ok) => this.metrics.reloads.labels(ok ? "success" : "failure").inc(),
      );
      this.files.load();
    }
    if (config.kube.kind !== "none") this.kube = this.kubernetesSource();
    this.store.publishNow();
    this.files?.watch();
    void this.kube?.start();
  }

  /** Resolves once every source has completed its first sync and the snapshot reflects it. */
  async synced(): Promise<void> {
    while (!this.store.current.synced) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Starts the sources, then binds every DNS listener and the HTTP side. */
  async start(): Promise<void> {
    const { config } = this;
    await this.startSources();
    for (const addr of config.listen) {
      this.udp.push(await listenUdp(addr, this.handler, this.queryLog, this.limiter));
      this.tcp.push(
        await listenTcp(addr, this.handler, this.queryLog, {
          idleTimeout: config.tcpIdleTimeout,
          messageTimeout: Math.min(config.tcpIdleTimeout, TCP_MESSAGE_TIMEOUT),
          maxConnections: config.tcpMaxConnections,
        }),
      );
    }
    this.http = await listenHttp(config.httpListen, {
      metrics: this.metrics,
      ready: () => this.store.synced,
      services: (filter) => explainServices(this.catalog.inspect(), filter),
      version: () => this.store.current.version,
    });
    this.log.info(
      {
        listen: config.listen.map(formatListenAddress),
        http: formatListenAddress(config.httpListen),
        zones: [...this.store.current.zones.keys()],
        sources: config.sources,
        kubernetes: config.kube.kind,
      },
      "podns serving",
    );
  }

  /** Re-reads the file sources (SIGHUP); the previous data stays when a file does not parse. */
  reload(): boolean {
    return this.files?.reload() ?? true;
  }

  /** The UDP listeners' bound addresses (useful with port 0). */
  udpAddresses(): ListenAddress[] {
    return this.udp.map((s) => ({ host: s.address().address, port: s.address().port }));
  }

  httpAddress(): ListenAddress {
    const a = this.http?.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stops taking queries, lets in-flight work finish, and stops the sources. Idempotent. */
  async stop(): Promise<void> {
    this.kube?.stop();
    await this.files?.close();
    this.store.stop();
    for (const s of this.udp.splice(0)) s.close();
    await Promise.all(this.tcp.splice(0).map((t) => t.close()));
    const server = this.http;
    this.http = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  private kubernetesSource(): KubernetesSource {
    const kc = loadKubeConfig(this.config.kube);
    const lists = new Map<string, number>();
    const observer = {
      activity: (kind: string, type: string) => {
        this.metrics.watchActivity(kind, type);
        if (type !== "LIST") return;
        const n = (lists.get(kind) ?? 0) + 1;
        lists.set(kind, n);
        this.log.info({ kind, relist: n > 1 }, n > 1 ? "kubernetes: relisted" : "kubernetes: listed");
      },
      error: (kind: string) => this.metrics.watchErrors.labels(kind).inc(),
    };
    return new KubernetesSource(kc, this.catalog, this.store, this.log, this.warn, observer, {
      backoff: this.options.backoff,
      silenceTimeout: this.options.silenceTimeout,
      namespaces: this.config.namespaces,
    });
  }
}

/**
 * The client configuration for the chosen cluster. @throws StartupError when there is none to be had: a missing or
 * unreadable kubeconfig, or --in-cluster outside a pod.
 */
function loadKubeConfig(kube: ServeConfig["kube"]): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kube.kind === "in-cluster") {
      if (!existsSync(SERVICE_ACCOUNT_TOKEN) || process.env["KUBERNETES_SERVICE_HOST"] === undefined) {
        throw new Error(
          `--in-cluster: no service account here (${SERVICE_ACCOUNT_TOKEN}, KUBERNETES_SERVICE_HOST)`,
        );
      }
      kc.loadFromCluster();
    } else if (kube.kind === "kubeconfig" && kube.file !== undefined) {
      kc.loadFromFile(kube.file);
    } else {
      // Without a file, client-node falls back to http://localhost:8080, which is never what an operator meant.
      const file = process.env["KUBECONFIG"] || path.join(os.homedir(), ".kube", "config");
      if (!process.env["KUBECONFIG"] && !existsSync(file)) throw new Error(`no kubeconfig at ${file}`);
      kc.loadFromDefault();
    }
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0]!;
    // Advice to pass a kubeconfig fits only when none was named.
    const advice =
      kube.kind === "kubeconfig" && kube.file !== undefined
        ? "check the file given to --kubeconfig"
        : "pass --kubeconfig FILE, --in-cluster, or --source PATH for manifest files";
    throw new StartupError(`${reason}: ${advice}`);
  }
  if (kc.getCurrentCluster() === null || kc.getContexts().length === 0) {
    throw new StartupError(
      "no cluster configured: pass --kubeconfig FILE, --in-cluster, or --source PATH for manifest files",
    );
  }
  return kc;
}
