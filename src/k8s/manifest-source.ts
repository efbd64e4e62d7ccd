/**
 * The file source: Kubernetes manifests (YAML or JSON; Service, EndpointSlice, Pod and List documents) and RFC 1035
 * zone files (`*.zone`) read from files or folders, fed through the same conversion as watch events, and re-read
 * when the files change. A change that does not parse keeps the previous data.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { type FSWatcher, watch } from "chokidar";
import type { Logger } from "pino";
import { parseAllDocuments } from "yaml";
import { StartupError } from "../config/errors.js";
import type { Catalog } from "../discovery/catalog.js";
import type { StaticZone, ZoneStore } from "../zone/store.js";
import { loadZoneFile, ZoneFileError } from "../zone/zonefile.js";
import { toNode, toPod, toService, toSlice, type Warn } from "./convert.js";

const MANIFEST = /\.(ya?ml|json)$/i;
/** The kinds podns reads from manifests; others (Deployments, ConfigMaps, ...) are skipped. */
const KINDS = ["Service", "EndpointSlice", "Pod", "Node"];
const ZONE = /\.zone$/i;
/** Milliseconds of quiet after a file event before re-reading, so an editor's save is read once. */
const SETTLE_MS = 100;

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON.
type Obj = any;

/** What the files hold, by kind and `namespace/name`. */
export interface FileContents {
  readonly objects: Map<string, Obj>;
  readonly zones: StaticZone[];
}

export interface FileSourceOptions {
  readonly paths: readonly string[];
  /** Seconds: default TTL for zone files without `$TTL`. */
  readonly ttl: number;
  /** Namespaces whose objects are read; empty or absent is all (Nodes are cluster-scoped and always read). */
  readonly namespaces?: readonly string[];
}

export class FileSource {
  private current: FileContents = { objects: new Map(), zones: [] };
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: FileSourceOptions,
    private readonly catalog: Catalog,
    private readonly store: ZoneStore,
    private readonly log: Logger,
    private readonly warn: Warn,
    private readonly onReload: (ok: boolean) => void = () => {},
  ) {}

  /** Reads every file once. @throws StartupError (file and line) when a file does not parse. */
  load(): void {
    const synced = this.store.registerSource("files");
    this.apply(readSources(this.opts.paths, this.opts.ttl));
    synced();
  }

  /** Re-reads after changes; a failure is logged with file and line and the previous data stays. */
  reload(): boolean {
    try {
      this.apply(readSources(this.opts.paths, this.opts.ttl));
      this.log.info({ paths: this.opts.paths }, "sources reloaded");
      this.onReload(true);
      return true;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "reload failed; keeping the previous data");
      this.onReload(false);
      return false;
    }
  }

  watch(): void {
    this.watcher = watch([...this.opts.paths], { ignoreInitial: true });
    this.watcher.on("all", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload(), SETTLE_MS);
    });
    this.watcher.on("error", (err) => this.log.warn({ err: String(err) }, "file watch error"));
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher?.close();
  }

  /**
   * Applies what changed since the last read. Every object is converted before the catalog is touched, so a
   * conversion that fails leaves the previous data whole.
   */
  private apply(read: FileContents): void {
    const next = inNamespaces(read, this.opts.namespaces ?? []);
    const changes: (() => void)[] = [];
    for (const [k, obj] of this.current.objects) if (!next.objects.has(k)) changes.push(this.removal(obj));
    for (const [k, obj] of next.objects) {
      if (JSON.stringify(this.current.objects.get(k)) !== JSON.stringify(obj)) changes.push(this.update(obj));
    }
    for (const change of changes) change();
    this.current = next;
    this.store.setStaticZones(next.zones);
    this.store.publishSoon();
  }

  private update(obj: Obj): () => void {
    const { catalog, warn } = this;
    const { namespace, name } = obj.metadata;
    switch (obj.kind) {
      case "Service": {
        const svc = toService(obj, warn);
        return svc ? () => catalog.setService(svc) : () => catalog.deleteService(namespace, name);
      }
      case "EndpointSlice": {
        const slice = toSlice(obj, warn);
        return slice ? () => catalog.setSlice(slice) : () => catalog.deleteSlice(namespace, name);
      }
      case "Pod": {
        const pod = toPod(obj, warn);
        return pod ? () => catalog.setPod(pod) : () => catalog.deletePod(namespace, name);
      }
      default: {
        const node = toNode(obj);
        return node ? () => catalog.setNode(node) : () => catalog.deleteNode(name);
      }
    }
  }

  private removal(obj: Obj): () => void {
    const { namespace, name } = obj.metadata;
    const { catalog } = this;
    switch (obj.kind) {
      case "Service":
        return () => catalog.deleteService(namespace, name);
      case "EndpointSlice":
        return () => catalog.deleteSlice(namespace, name);
      case "Pod":
        return () => catalog.deletePod(namespace, name);
      default:
        return () => catalog.deleteNode(name);
    }
  }
}

/** The contents without the objects of namespaces not asked for. */
function inNamespaces(contents: FileContents, namespaces: readonly string[]): FileContents {
  if (namespaces.length === 0) return contents;
  const objects = new Map(
    [...contents.objects].filter(([, o]) => o.kind === "Node" || namespaces.includes(o.metadata.namespace)),
  );
  return { objects, zones: contents.zones };
}

/** Reads files and folders (not recursively). @throws StartupError with file and line. */
export function readSources(paths: readonly string[], ttl: number): FileContents {
  const objects = new Map<string, Obj>();
  const zones: StaticZone[] = [];
  for (const file of expand(paths)) {
    if (ZONE.test(file)) {
      try {
        zones.push(loadZoneFile(file, { defaultTtl: ttl }));
      } catch (err) {
        if (err instanceof ZoneFileError) throw new StartupError(err.reason, err.file, err.line);
        throw err;
      }
    } else {
      for (const obj of readManifest(file))
        objects.set(`${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    }
  }
  return { objects, zones };
}

function expand(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new StartupError(`no such file or folder: ${p}`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (MANIFEST.test(name) || ZONE.test(name)) files.push(path.join(p, name));
      }
    } else files.push(p);
  }
  return files;
}

/** Every Service, EndpointSlice, Pod and Node in a manifest file, Lists flattened, namespace defaulted to "default". */
export function readManifest(file: string): Obj[] {
  const text = readFileSync(file, "utf8");
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    const problem = doc.errors[0];
    if (problem) {
      // The yaml library appends "at line L, column C:" and a code frame; the line goes in front instead.
      const reason = problem.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new StartupError(reason, file, problem.linePos?.[0]?.line ?? 0);
    }
    let value: Obj;
    try {
      value = doc.toJS();
    } catch (err) {
      // The yaml library refuses documents that expand aliases without bound ("billion laughs").
      throw new StartupError((err as Error).message, file, lineOf(text, doc.range[0]));
    }
    if (value === null || value === undefined) continue;
    const line = lineOf(text, doc.range[0]);
    if (typeof value !== "object" || typeof value.kind !== "string") {
      throw new StartupError("document has no kind", file, line);
    }
    const items = value.kind.endsWith("List") && Array.isArray(value.items) ? value.items : [value];
    for (const item of items) {
      if (!KINDS.includes(item?.kind)) continue;
      if (typeof item.metadata?.name !== "string")
        throw new StartupError(`${item.kind} has no metadata.name`, file, line);
      if (item.kind !== "Node") item.metadata.namespace ??= "default";
      out.push(item);
    }
  }
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
