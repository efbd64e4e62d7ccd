/**
 * `podns serve` configuration: the flags, their environment twins (PODNS_<FLAG>), the defaults, and validation into
 * one typed object. Every flag is parsed here and nowhere else.
 */
import { existsSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { ClusterIpMode } from "../discovery/service-records.js";
import { type Fqdn, fqdn, isReverseZone, NameError } from "../dns/name.js";
import { type ListenAddress, parseListenAddress } from "../server/listen.js";
import { StartupError } from "./errors.js";

/** Where the service-account token of a pod lives; its presence means podns runs inside a cluster. */
export const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export const DEFAULTS = {
  listen: "127.0.0.1:5353",
  httpListen: "127.0.0.1:9153",
  zone: "cluster.local",
  /** Seconds. Short, as for CoreDNS's kubernetes plugin: endpoints change often and clients must follow. */
  ttl: 5,
  clusterIp: "endpoints" as ClusterIpMode,
  logLevel: "info",
  logFormat: "json",
  /** Seconds (RFC 7766 section 6.2.3 suggests a few seconds to tens of seconds). */
  tcpIdleTimeout: 10,
  tcpMaxConnections: 1000,
  /** Seconds; 0 is off. */
  slowStart: 0,
  /** 0 is all. */
  maxAnswers: 0,
  /** Responses per second per client network; 0 is off. */
  rateLimit: 0,
  shuffle: "on",
  /** Fraction of queries logged; 0 is off. */
  queryLogSample: 0,
} as const;

export type KubeMode =
  | { readonly kind: "none" }
  | { readonly kind: "kubeconfig"; readonly file: string | undefined }
  | { readonly kind: "in-cluster" };

export interface ServeConfig {
  readonly kube: KubeMode;
  readonly sources: readonly string[];
  /** Namespaces whose Services, EndpointSlices and Pods are served; empty is all. */
  readonly namespaces: readonly string[];
  readonly zones: readonly Fqdn[];
  readonly listen: readonly ListenAddress[];
  readonly httpListen: ListenAddress;
  /** Seconds. */
  readonly ttl: number;
  readonly clusterIp: ClusterIpMode;
  readonly logLevel: string;
  readonly logFormat: "json" | "pretty";
  /** Seconds. */
  readonly tcpIdleTimeout: number;
  readonly tcpMaxConnections: number;
  /** Seconds over which a newly ready endpoint's weight ramps up, for Services without the annotation; 0 is off. */
  readonly slowStart: number;
  /** Prefer same-zone endpoints for every Service. */
  readonly preferSameZone: boolean;
  /** Weighted random order of A/AAAA answers per query. */
  readonly shuffle: boolean;
  /** At most this many A/AAAA records per answer; 0 is all. */
  readonly maxAnswers: number;
  /** Told in class CH for `id.server` (RFC 4892); undefined: such questions are REFUSED. */
  readonly identity: string | undefined;
  /** UDP responses per second per client network before slips; 0 is off. */
  readonly rateLimit: number;
  /** Fraction of queries logged, one line each, 0..1; 0 is off. */
  readonly queryLogSample: number;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Repeatable flag: each use adds values; the environment twin takes a comma-separated list. */
function collect(value: string, previous: string[] | undefined): string[] {
  const parts = value.split(/[\s,]+/).filter((p) => p !== "");
  return [...(previous ?? []), ...parts];
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 2_147_483_647)
    throw new InvalidArgumentError("expected whole seconds");
  return n;
}

function positive(value: string): number {
  const n = seconds(value);
  if (n < 1) throw new InvalidArgumentError("expected a number of at least 1");
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError("expected a number from 0 to 1");
  return n;
}

function opt(flags: string, description: string, env: string): Option {
  return new Option(flags, description).env(env);
}

/** Adds the flags that choose the data: the cluster, files, zones, TTL and ClusterIP mode, logging. */
export function dataOptions(cmd: Command): Command {
  return cmd
    .addOption(opt("--kubeconfig <file>", "watch the cluster of this kubeconfig", "PODNS_KUBECONFIG"))
    .addOption(
      opt("--in-cluster", "watch the cluster podns runs in (default inside a pod)", "PODNS_IN_CLUSTER"),
    )
    .addOption(
      opt(
        "--source <path>",
        "manifests (YAML/JSON) and *.zone files, a file or folder; repeatable",
        "PODNS_SOURCE",
      ).argParser(collect),
    )
    .addOption(
      opt(
        "--zone <name>",
        `zone to serve, forward or reverse; repeatable (default ${DEFAULTS.zone})`,
        "PODNS_ZONE",
      ).argParser(collect),
    )
    .addOption(
      opt(
        "--namespace <name>",
        "watch and serve only this namespace; repeatable (default all)",
        "PODNS_NAMESPACE",
      ).argParser(collect),
    )
    .addOption(
      opt("--ttl <seconds>", "TTL of served records and SOA MINIMUM", "PODNS_TTL")
        .argParser(seconds)
        .default(DEFAULTS.ttl),
    )
    .addOption(
      opt(
        "--cluster-ip <mode>",
        "ClusterIP Services answer with ready endpoints or the virtual IP",
        "PODNS_CLUSTER_IP",
      )
        .choices(["endpoints", "vip"])
        .default(DEFAULTS.clusterIp),
    )
    .addOption(
      opt(
        "--slow-start <seconds>",
        "ramp a newly ready endpoint's weight from 10% to 100% over this long (podns.io/slow-start overrides)",
        "PODNS_SLOW_START",
      )
        .argParser(seconds)
        .default(DEFAULTS.slowStart),
    )
    .addOption(
      opt(
        "--prefer-same-zone",
        "prefer endpoints in the querier's topology zone for every Service",
        "PODNS_PREFER_SAME_ZONE",
      ),
    )
    .addOption(
      opt("--log-level <level>", "log level", "PODNS_LOG_LEVEL")
        .choices(LOG_LEVELS)
        .default(DEFAULTS.logLevel),
    )
    .addOption(
      opt("--log-format <format>", "json, or pretty for people", "PODNS_LOG_FORMAT")
        .choices(["json", "pretty"])
        .default(DEFAULTS.logFormat),
    );
}

/** Adds the serve flags to a command: the data flags and the listeners. */
export function serveOptions(cmd: Command): Command {
  return dataOptions(cmd)
    .addOption(
      opt(
        "--listen <host:port>",
        `DNS over UDP and TCP; repeatable (default ${DEFAULTS.listen})`,
        "PODNS_LISTEN",
      ).argParser(collect),
    )
    .addOption(
      opt("--http-listen <host:port>", "health, readiness and metrics", "PODNS_HTTP_LISTEN").default(
        DEFAULTS.httpListen,
      ),
    )
    .addOption(
      opt("--shuffle <on|off>", "weighted random order of A/AAAA answers per query", "PODNS_SHUFFLE")
        .choices(["on", "off"])
        .default(DEFAULTS.shuffle),
    )
    .addOption(
      opt(
        "--max-answers <n>",
        "at most N A/AAAA records per answer, a weighted sample (0: all)",
        "PODNS_MAX_ANSWERS",
      )
        .argParser(seconds)
        .default(DEFAULTS.maxAnswers),
    )
    .addOption(
      opt(
        "--identity <text>",
        "answer id.server, hostname.bind and version.bind (class CH) with this; unset, they are REFUSED",
        "PODNS_IDENTITY",
      ),
    )
    .addOption(
      opt(
        "--rate-limit <n>",
        "UDP responses per second per client /24 (IPv4) or /56 (IPv6); past it, TC=1 slips; 0 is off",
        "PODNS_RATE_LIMIT",
      )
        .argParser(seconds)
        .default(DEFAULTS.rateLimit),
    )
    .addOption(
      opt(
        "--tcp-idle-timeout <seconds>",
        "close idle TCP connections after this long",
        "PODNS_TCP_IDLE_TIMEOUT",
      )
        .argParser(positive)
        .default(DEFAULTS.tcpIdleTimeout),
    )
    .addOption(
      opt("--tcp-max-connections <n>", "concurrent TCP connections per listener", "PODNS_TCP_MAX_CONNECTIONS")
        .argParser(positive)
        .default(DEFAULTS.tcpMaxConnections),
    )
    .addOption(
      opt("--query-log-sample <fraction>", "log this fraction of queries, 0 to 1", "PODNS_QUERY_LOG_SAMPLE")
        .argParser(fraction)
        .default(DEFAULTS.queryLogSample),
    );
}

export interface RawServeOptions {
  kubeconfig?: string;
  inCluster?: boolean;
  source?: string[];
  zone?: string[];
  namespace?: string[];
  listen?: string[];
  httpListen?: string;
  ttl: number;
  clusterIp: ClusterIpMode;
  logLevel: string;
  logFormat: "json" | "pretty";
  tcpIdleTimeout?: number;
  tcpMaxConnections?: number;
  slowStart?: number;
  preferSameZone?: boolean;
  shuffle?: "on" | "off";
  maxAnswers?: number;
  identity?: string;
  queryLogSample?: number;
  rateLimit?: number;
}

/** Validates parsed flags. @throws StartupError with a one-line reason. */
export function toServeConfig(
  raw: RawServeOptions,
  tokenPresent = existsSync(SERVICE_ACCOUNT_TOKEN),
): ServeConfig {
  if (raw.kubeconfig !== undefined && raw.inCluster) {
    throw new StartupError("--kubeconfig and --in-cluster exclude each other");
  }
  const sources = raw.source ?? [];
  let kube: KubeMode;
  if (raw.inCluster) kube = { kind: "in-cluster" };
  else if (raw.kubeconfig !== undefined) kube = { kind: "kubeconfig", file: raw.kubeconfig };
  else if (sources.length > 0) kube = { kind: "none" };
  else if (tokenPresent) kube = { kind: "in-cluster" };
  else kube = { kind: "kubeconfig", file: undefined };
  return {
    kube,
    sources,
    zones: servedZones(raw.zone),
    namespaces: namespaceNames(raw.namespace),
    listen: (raw.listen ?? [DEFAULTS.listen]).map(listenAddress("--listen")),
    httpListen: listenAddress("--http-listen")(raw.httpListen ?? DEFAULTS.httpListen),
    ttl: raw.ttl,
    clusterIp: raw.clusterIp,
    logLevel: raw.logLevel,
    logFormat: raw.logFormat,
    tcpIdleTimeout: raw.tcpIdleTimeout ?? DEFAULTS.tcpIdleTimeout,
    tcpMaxConnections: raw.tcpMaxConnections ?? DEFAULTS.tcpMaxConnections,
    slowStart: raw.slowStart ?? DEFAULTS.slowStart,
    preferSameZone: raw.preferSameZone === true,
    shuffle: (raw.shuffle ?? DEFAULTS.shuffle) === "on",
    maxAnswers: raw.maxAnswers ?? DEFAULTS.maxAnswers,
    identity: raw.identity,
    rateLimit: raw.rateLimit ?? DEFAULTS.rateLimit,
    queryLogSample: raw.queryLogSample ?? DEFAULTS.queryLogSample,
  };
}

/**
 * The zones to serve. Naming only reverse zones adds them to the default forward zone, since PTR records point at
 * names in it; naming a forward zone replaces the default.
 */
function servedZones(given: readonly string[] | undefined): Fqdn[] {
  const zones = (given ?? []).map(zoneName);
  if (!zones.some((z) => !isReverseZone(z))) zones.unshift(zoneName(DEFAULTS.zone));
  return [...new Set(zones)];
}

/** Namespace names are RFC 1123 labels (Kubernetes `IsDNS1123Label`). */
function namespaceNames(given: readonly string[] | undefined): string[] {
  for (const ns of given ?? []) {
    if (ns.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) {
      throw new StartupError(`--namespace ${JSON.stringify(ns)}: not a namespace name (RFC 1123 label)`);
    }
  }
  return [...new Set(given ?? [])];
}

function zoneName(text: string): Fqdn {
  try {
    return fqdn(text.endsWith(".") ? text : `${text}.`);
  } catch (err) {
    if (err instanceof NameError) throw new StartupError(`--zone ${JSON.stringify(text)}: ${err.message}`);
    throw err;
  }
}

function listenAddress(flag: string) {
  return (text: string): ListenAddress => {
    try {
      return parseListenAddress(text);
    } catch (err) {
      throw new StartupError(`${flag}: ${(err as Error).message}`);
    }
  };
}
