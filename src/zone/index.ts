/**
 * The zone index: every served owner name with its RRsets, updated source by source. A source (one Service, one
 * zone file, a zone's apex records) replaces all of its RRsets at once, and only the names it had or has are
 * touched, so a change costs work proportional to the source, not to the cluster. Updates run synchronously on the
 * slow path between queries, so a query sees a source either before or after an update, never halfway.
 */
import { type Fqdn, parent } from "../dns/name.js";
import { type Rr, type RrSet, sameSets } from "../dns/records.js";

/** One source's contribution to a name. */
interface Contribution {
  readonly source: string;
  readonly set: RrSet;
}

/**
 * An owner name: its served RRsets (at most one per type) and how many names directly below it exist. A node with
 * no RRsets is an empty non-terminal (RFC 8020): it answers NODATA, never NXDOMAIN. `gen` changes whenever its
 * RRsets do, which is what cached answers check.
 */
export class NameNode {
  /**
   * The served RRsets. Most names have exactly one (a pod's A, a reverse name's PTR), held bare rather than in an
   * array of one: there is a node per pod and per pod address (bench/memory.ts: 12 MiB of arrays at 10,000
   * Services x 10 endpoints).
   */
  private held: RrSet | readonly RrSet[] = NO_SETS;
  children = 0;
  gen = 0;
  /**
   * Where the RRsets come from: one source's name when a single source gives all of them (the common case, kept
   * small because there is a node per pod), else each source with what it gives.
   */
  origin: string | readonly Contribution[] = NO_CONTRIBUTIONS;

  get(type: number): RrSet | undefined {
    const held = this.held;
    if (!isList(held)) return held.type === type ? held : undefined;
    for (const set of held) if (set.type === type) return set;
    return undefined;
  }

  /** The first RRset, or undefined for an empty non-terminal. */
  first(): RrSet | undefined {
    const held = this.held;
    return isList(held) ? held[0] : held;
  }

  get size(): number {
    const held = this.held;
    return isList(held) ? held.length : 1;
  }

  /** The RRsets as a list (allocated for a name with one; not for the query path). */
  values(): readonly RrSet[] {
    const held = this.held;
    return isList(held) ? held : [held];
  }

  set(sets: readonly RrSet[]): void {
    this.held = sets.length === 1 ? sets[0]! : sets.length === 0 ? NO_SETS : sets;
  }

  contributions(): readonly Contribution[] {
    const { origin } = this;
    return typeof origin === "string" ? this.values().map((set) => ({ source: origin, set })) : origin;
  }
}

const NO_SETS: readonly RrSet[] = [];
const isList = (held: RrSet | readonly RrSet[]): held is readonly RrSet[] => Array.isArray(held);
const NO_CONTRIBUTIONS: readonly Contribution[] = [];

export class ZoneIndex {
  readonly nodes = new Map<Fqdn, NameNode>();
  /** Zone apexes; a name belongs to the closest enclosing one. */
  readonly apexes: ReadonlySet<Fqdn>;
  private readonly bySource = new Map<string, readonly RrSet[]>();
  /** RRsets with topology-zone variants now served; only while there are any is a querier's zone looked up. */
  zonedSets = 0;

  constructor(apexes: Iterable<Fqdn>) {
    this.apexes = new Set(apexes);
    for (const apex of this.apexes) this.nodes.set(apex, new NameNode());
  }

  /** The closest enclosing served zone apex of `name`. */
  apexOf(name: Fqdn): Fqdn | undefined {
    let n: Fqdn | undefined = name;
    while (n !== undefined) {
      if (this.apexes.has(n)) return n;
      n = parent(n);
    }
    return undefined;
  }

  /** Every source's RRsets, for export. */
  sources(): Iterable<[string, readonly RrSet[]]> {
    return this.bySource.entries();
  }

  /**
   * Replaces everything `source` serves with `sets` (one RRset per name and type within the source). Returns the
   * number of names whose RRsets changed.
   */
  setSource(source: string, sets: readonly RrSet[]): number {
    const before = this.bySource.get(source) ?? [];
    // RRsets outside every served zone are not served.
    const after = sets.filter((set) => this.apexOf(set.name) !== undefined);
    if (after.length === 0) this.bySource.delete(source);
    else this.bySource.set(source, after);
    const touched = new Set<Fqdn>();
    for (const set of before) touched.add(set.name);
    for (const set of after) touched.add(set.name);
    const byName = new Map<Fqdn, RrSet[]>();
    for (const set of after) {
      const list = byName.get(set.name);
      if (list === undefined) byName.set(set.name, [set]);
      else list.push(set);
    }
    let changed = 0;
    for (const name of touched) if (this.replace(name, source, byName.get(name) ?? [])) changed++;
    return changed;
  }

  /** Sets what `source` gives `name`; true when the served RRsets changed. */
  private replace(name: Fqdn, source: string, sets: readonly RrSet[]): boolean {
    let node = this.nodes.get(name);
    if (node === undefined) {
      if (sets.length === 0) return false;
      node = this.create(name);
    }
    const kept = node.contributions().filter((c) => c.source !== source);
    const next = kept.concat(sets.map((set) => ({ source, set })));
    const served = serve(next);
    node.origin =
      next.length > 0 && next.every((c) => c.source === source) && served.length === next.length
        ? source
        : next;
    const changed = !sameSets(node.values(), served);
    if (changed) {
      for (const set of node.values()) if (set.byZone !== undefined) this.zonedSets--;
      for (const set of served) if (set.byZone !== undefined) this.zonedSets++;
      node.set(served);
      node.gen++;
    }
    if (served.length === 0 && node.children === 0) this.remove(name);
    return changed;
  }

  /** Adds a node and every missing ancestor up to its apex (RFC 8020: ancestors of a name exist). */
  private create(name: Fqdn): NameNode {
    const node = new NameNode();
    this.nodes.set(name, node);
    let child = name;
    while (!this.apexes.has(child)) {
      const up = parent(child)!;
      const existing = this.nodes.get(up);
      if (existing !== undefined) {
        existing.children++;
        break;
      }
      const ent = new NameNode();
      ent.children = 1;
      this.nodes.set(up, ent);
      child = up;
    }
    return node;
  }

  /** Removes a node with nothing left, and every ancestor that only existed for it. */
  private remove(name: Fqdn): void {
    let n = name;
    while (!this.apexes.has(n)) {
      // A removed node's generation moves too, so an answer cached from it is never taken for current.
      this.nodes.get(n)!.gen++;
      this.nodes.delete(n);
      const up = parent(n)!;
      const node = this.nodes.get(up);
      if (node === undefined) return;
      node.children--;
      node.gen++;
      if (node.children > 0 || node.size > 0) return;
      n = up;
    }
  }
}

/** The served RRsets of a name: one per type; types given by several sources are merged. */
function serve(contributions: readonly Contribution[]): RrSet[] {
  const byType = new Map<number, RrSet[]>();
  for (const c of contributions) {
    const list = byType.get(c.set.type);
    if (list === undefined) byType.set(c.set.type, [c.set]);
    else list.push(c.set);
  }
  return Array.from(byType, ([type, sets]) => (sets.length === 1 ? sets[0]! : merge(type, sets)));
}

/**
 * One RRset from several sources (a pod IP in two Services' reverse names, a zone file beside a Service): records
 * de-duplicated, with the smallest TTL (RFC 2181 section 5.2). Weights and zone variants do not survive a merge.
 */
function merge(type: number, sets: readonly RrSet[]): RrSet {
  const name = sets[0]!.name;
  const all = sets.flatMap((s) => s.records);
  const ttl = Math.min(...all.map((r) => r.ttl));
  const seen = new Set<string>();
  const records: Rr[] = [];
  for (const rr of all) {
    const key = JSON.stringify({ ...rr, ttl: 0 });
    if (seen.has(key)) continue;
    seen.add(key);
    records.push(rr.ttl === ttl ? rr : { ...rr, ttl });
  }
  return { name, type, records };
}
