/**
 * Attacks on negative answers (NXDOMAIN / NODATA with the zone's SOA) kept in the response cache across publishes
 * (src/server/handler.ts `dependencies`, `isCurrent`, `sameBesidesSerial`, serial patch). Oracle: a fresh
 * QueryHandler with an empty cache on the same store; bytes compared with the ID zeroed.
 */
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Packet } from "dns2";
import { afterAll, describe, expect, it } from "vitest";
import { QType as Type } from "../../src/dns/constants.js";
import { type AnswerPolicy, QueryHandler, type Transport } from "../../src/server/handler.js";
import { buildQuery, clientSubnetOption, encodeName } from "../support/raw-dns.js";
import {
  editFixture,
  NO_METRICS,
  REVERSE_ZONES,
  removeWritableCopies,
  withoutId,
  writableCopy,
  type ZoneHarness,
  zoneHarness,
} from "../support/zone-harness.js";

const POLICIES: AnswerPolicy[] = [
  { shuffle: false, maxAnswers: 0 },
  { shuffle: false, maxAnswers: 1 },
];

afterAll(() => removeWritableCopies());

function mix(name: string, i: number): string {
  return [...name].map((c, j) => ((i + j) % 3 === 0 ? c.toUpperCase() : c)).join("");
}

interface Shape {
  readonly query: Buffer;
  readonly transport: Transport;
  readonly label: string;
}

function shapes(qnames: readonly string[], qtypes: readonly number[]): Shape[] {
  const out: Shape[] = [];
  const opts = [
    undefined,
    { udpSize: 1232 },
    { udpSize: 4096, dnssecOk: true },
    { udpSize: 1232, options: [clientSubnetOption("10.244.1.0", 24)] },
  ];
  let i = 0;
  for (const qname of qnames) {
    for (const qtype of qtypes) {
      for (const opt of opts) {
        for (const transport of ["udp", "tcp"] as const) {
          const name = i++ % 2 === 0 ? qname : mix(qname, i);
          out.push({
            query: buildQuery({ qname: name, qtype, opt }),
            transport,
            label: `${name} ${qtype} ${JSON.stringify(opt ?? null)} ${transport}`,
          });
        }
      }
    }
  }
  return out;
}

/** Primes handlers with every shape, applies `change`, then compares every cached answer with a fresh handler's. */
function attack(h: ZoneHarness, list: readonly Shape[], changes: readonly (() => void)[]): string[] {
  const handlers = POLICIES.map((p) => new QueryHandler(h.store, NO_METRICS, p));
  const bad: string[] = [];
  const round = (when: string) => {
    for (const [k, qh] of handlers.entries()) {
      // One oracle per round: nothing is published within a round, so its cache is fresh for it.
      const oracle = new QueryHandler(h.store, NO_METRICS, POLICIES[k]!);
      for (const s of list) {
        const got = qh.handle(s.query, s.transport, "127.0.0.1");
        const want = oracle.handle(s.query, s.transport, "127.0.0.1");
        if (withoutId(got) !== withoutId(want)) bad.push(`${when} policy${k} ${s.label}`);
        const serial = serialOf(got!);
        if (serial !== -1 && serial !== h.store.soaSerial)
          bad.push(`${when} policy${k} ${s.label} serial ${serial}`);
      }
    }
  };
  round("prime");
  for (const [n, change] of changes.entries()) {
    change();
    round(`after change ${n}`);
  }
  return bad;
}

function serialOf(out: Buffer): number {
  if ((out[2]! & 0x02) !== 0) return -1; // truncated: dns2 is not asked to parse a cut message
  const p = Packet.parse(out);
  const soa = p.authorities.find((r: { type: number }) => r.type === Type.SOA) as
    | { serial: number }
    | undefined;
  return soa?.serial ?? -1;
}

const svc = (name: string, ns: string, ip: string) =>
  [
    "apiVersion: v1",
    "kind: Service",
    `metadata: { name: ${name}, namespace: ${ns} }`,
    "spec:",
    "  type: ClusterIP",
    `  clusterIP: ${ip}`,
    `  clusterIPs: [${ip}]`,
    "  ports: [{ name: http, port: 80, protocol: TCP }]",
    "",
  ].join("\n");

const ext = (name: string, ns: string, target: string) =>
  [
    "apiVersion: v1",
    "kind: Service",
    `metadata: { name: ${name}, namespace: ${ns} }`,
    "spec:",
    "  type: ExternalName",
    `  externalName: ${target}`,
    "",
  ].join("\n");

const NAMES = [
  "late.shop.svc.cluster.local.",
  "x.svc.cluster.local.",
  "late.x.svc.cluster.local.",
  "storefront.shop.svc.cluster.local.",
  "checkout-v1.shop.svc.cluster.local.",
  "legacy-checkout.shop.svc.cluster.local.",
  "note.cluster.local.",
  "sub.note.cluster.local.",
  "77.77.96.10.in-addr.arpa.",
  "nothing.cluster.local.",
  "cluster.local.",
];
// At most 16 shapes per name (VARIANTS_PER_NAME): more would evict and hide staleness.
const TYPES = [Type.A, Type.TXT];

describe("negative answers cached across publishes", () => {
  it("names appearing and disappearing: Services, namespaces (ENTs), zone-file records, PTRs, ExternalName targets", () => {
    const dir = writableCopy();
    const rev = writableCopy(REVERSE_ZONES);
    const h = zoneHarness({ paths: [dir, rev] });
    const list = shapes(NAMES, TYPES);
    const bad = attack(h, list, [
      () => {
        writeFileSync(path.join(dir, "late.yaml"), svc("late", "shop", "10.96.77.77"));
        expect(h.reload()).toBe(true);
      },
      () => {
        writeFileSync(path.join(dir, "x.yaml"), svc("late", "x", "10.96.77.78"));
        expect(h.reload()).toBe(true);
      },
      () => {
        writeFileSync(path.join(dir, "v1.yaml"), svc("checkout-v1", "shop", "10.96.77.79"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => `${t}\nsub.note IN TXT "hi"\n`);
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => `${t}\nnote IN A 192.0.2.9\n`);
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(
          rev,
          "10.in-addr.arpa.zone",
          (t) => `${t}\n77.77.96 10 IN PTR late.shop.svc.cluster.local.\n`,
        );
        expect(h.reload()).toBe(true);
      },
      () => {
        rmSync(path.join(dir, "late.yaml"));
        rmSync(path.join(dir, "x.yaml"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace('sub.note IN TXT "hi"', ""));
        expect(h.reload()).toBe(true);
      },
      () => {
        writeFileSync(path.join(dir, "alias2.yaml"), ext("frontend2", "shop", "nothing.cluster.local"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => `${t}\nnothing IN TXT "now"\n`);
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it("SOA changes in the zone file: serial only, minimum, TTL, mname, rname, timers", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir, REVERSE_ZONES] });
    const list = shapes(NAMES, [Type.A, Type.TXT]);
    // Primed after the last SOA edit: the Service added last moves only the serial, so its final answer comes from
    // the cache with the serial patched in.
    const qh = new QueryHandler(h.store, NO_METRICS, POLICIES[0]!);
    const nothing = buildQuery({ qname: "nothing.cluster.local.", qtype: Type.A });
    const bad = attack(h, list, [
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("2025061801", "2025061802"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("2025061802", "2099123199"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("5 )", "4 )"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("$TTL 30", "$TTL 3"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("$TTL 3\n", "$TTL 300\n"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) =>
          t.replace("SOA ns.dns.cluster.local.", "SOA ns2.dns.cluster.local."),
        );
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) =>
          t.replace("hostmaster.cluster.local.", "root.cluster.local."),
        );
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("1800       ; retry", "1801 ; retry"));
        expect(h.reload()).toBe(true);
      },
      () => {
        h.publish();
        qh.handle(nothing, "udp");
      },
      () => {
        writeFileSync(path.join(dir, "late.yaml"), svc("late", "shop", "10.96.77.77"));
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad.slice(0, 20)).toEqual([]);
    const out = qh.handle(nothing, "udp")!;
    expect(serialOf(out)).toBe(h.store.soaSerial);
  });

  it("zones come and go: a zone file added and removed, a --zone reverse zone", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir], zones: ["cluster.local.", "10.in-addr.arpa.", "d.f.ip6.arpa."] });
    const names = [...NAMES, "www.example.org.", "a.sub.cluster.local.", "1.0.244.10.in-addr.arpa."];
    const bad = attack(h, shapes(names, [Type.A, Type.PTR]), [
      () => {
        writeFileSync(
          path.join(dir, "example.org.zone"),
          "$ORIGIN example.org.\n$TTL 60\nmail IN A 192.0.2.1\n",
        );
        expect(h.reload()).toBe(true);
      },
      () => {
        writeFileSync(
          path.join(dir, "sub.cluster.local.zone"),
          "$ORIGIN sub.cluster.local.\n$TTL 60\n@ IN SOA a.b. c.d. 7 1 2 3 4\nb IN A 192.0.2.1\n",
        );
        expect(h.reload()).toBe(true);
      },
      () => {
        rmSync(path.join(dir, "example.org.zone"));
        rmSync(path.join(dir, "sub.cluster.local.zone"));
        expect(h.reload()).toBe(true);
      },
      () => {
        writeFileSync(path.join(dir, "late.yaml"), svc("late", "shop", "10.96.77.77"));
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it("long qnames near 255 octets, classic 512-byte UDP: truncated negative answers", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir, REVERSE_ZONES] });
    const label = "a".repeat(63);
    const long = `${label}.${label}.${label}.${"b".repeat(40)}.cluster.local.`;
    expect(encodeName(long).length).toBeLessThanOrEqual(255);
    const list: Shape[] = [];
    for (const qtype of [Type.A, Type.TXT]) {
      for (const opt of [undefined, { udpSize: 512 }, { udpSize: 1232, dnssecOk: true }]) {
        list.push({
          query: buildQuery({ qname: long, qtype, opt }),
          transport: "udp",
          label: `long ${qtype}`,
        });
      }
    }
    const bad = attack(h, list, [
      () => {
        editFixture(dir, "cluster.local.zone", (t) => t.replace("2025061801", "2025061802"));
        expect(h.reload()).toBe(true);
      },
      () => {
        editFixture(dir, "cluster.local.zone", (t) => `${t}\n${long} IN TXT "x"\n`);
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad).toEqual([]);
  });

  it("before the first sync, then after", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir, REVERSE_ZONES], unsynced: ["kubernetes"] });
    const bad = attack(h, shapes(NAMES, [Type.A, Type.SRV]), [
      () => h.sync("kubernetes"),
      () => {
        writeFileSync(path.join(dir, "late.yaml"), svc("late", "shop", "10.96.77.77"));
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it("CH class and class ANY", () => {
    const dir = writableCopy();
    const h = zoneHarness({ paths: [dir, REVERSE_ZONES] });
    const list: Shape[] = [];
    for (const qclass of [3, 255]) {
      for (const qname of ["version.bind.", "nothing.cluster.local.", "late.shop.svc.cluster.local."]) {
        list.push({
          query: buildQuery({ qname, qtype: Type.TXT, qclass }),
          transport: "udp",
          label: `${qname} ${qclass}`,
        });
      }
    }
    const bad = attack(h, list, [
      () => {
        writeFileSync(path.join(dir, "late.yaml"), svc("late", "shop", "10.96.77.77"));
        expect(h.reload()).toBe(true);
      },
    ]);
    expect(bad).toEqual([]);
  });
});
