import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { fqdn } from "../../src/dns/name.js";
import { formatRrs, parseRr } from "../../src/dns/presentation.js";
import { formatZone, loadZoneDir, loadZoneFile, ZoneFileError } from "../../src/zone/zonefile.js";

const fixtures = "test/fixtures/zones";
const opts = { defaultTtl: 5 };
const scratch = mkdtempSync(join(tmpdir(), "podns-zonefile-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `text` to a fresh folder under the scratch directory and returns the file's path. */
let folders = 0;
function writeZone(name: string, text: string): string {
  const dir = join(scratch, String(folders++));
  mkdirSync(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function loadError(path: string, options: Parameters<typeof loadZoneFile>[1] = opts): ZoneFileError {
  try {
    loadZoneFile(path, options);
  } catch (err) {
    if (err instanceof ZoneFileError) return err;
    throw err;
  }
  throw new Error(`${path} loaded without error`);
}

describe("loadZoneFile", () => {
  test("reads the cluster.local fixture, taking the origin from the file name", () => {
    const zone = loadZoneFile(`${fixtures}/cluster.local.zone`, opts);
    expect(zone.origin).toBe("cluster.local.");
    expect(formatRrs(zone.records)).toEqual([
      "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 2024061801 7200 3600 1209600 5",
      "cluster.local. 30 IN NS ns.dns.cluster.local.",
      'cluster.local. 30 IN TXT "podns static data; do not edit by hand"',
      "ns.dns.cluster.local. 60 IN A 10.96.0.10",
      "ns.dns.cluster.local. 60 IN AAAA fd00:10:96::a",
      "db.external.cluster.local. 300 IN A 192.0.2.15",
      "db.external.cluster.local. 300 IN A 192.0.2.16",
      "mirror.external.cluster.local. 30 IN CNAME db.external.cluster.local.",
      "_ldap._tcp.db.external.cluster.local. 30 IN SRV 10 60 389 db.external.cluster.local.",
      "mail.cluster.local. 30 IN MX 10 mail.example.org.",
    ]);
    expect(zone.soa).toEqual(zone.records[0]);
  });

  test("$ORIGIN takes precedence over the file name and the default origin", () => {
    const path = writeZone("misnamed.zone", "$ORIGIN example.test.\nwww 60 IN A 192.0.2.1\n");
    const zone = loadZoneFile(path, { ...opts, defaultOrigin: fqdn("other.test") });
    expect(zone.origin).toBe("example.test.");
    expect(zone.records).toEqual([parseRr("www.example.test. 60 IN A 192.0.2.1")]);
  });

  test("the default origin applies to a file with no $ORIGIN, whatever its name", () => {
    const zone = loadZoneFile(writeZone("static.db", "www IN A 192.0.2.1\n"), {
      ...opts,
      defaultOrigin: fqdn("example.test"),
    });
    expect(zone.records).toEqual([parseRr("www.example.test. 5 IN A 192.0.2.1")]);
    expect(zone.soa).toBeUndefined();
  });

  test("a later $ORIGIN changes how the following relative names are read", () => {
    const text = "$ORIGIN example.test.\n@ 60 IN NS ns\n$ORIGIN svc.example.test.\nweb 60 IN CNAME lb\n";
    const zone = loadZoneFile(writeZone("x.zone", text), opts);
    expect(zone.origin).toBe("example.test.");
    expect(formatRrs(zone.records)).toEqual([
      "example.test. 60 IN NS ns.example.test.",
      "web.svc.example.test. 60 IN CNAME lb.svc.example.test.",
    ]);
  });

  test("records without a TTL take $TTL once it is set, and the default before it", () => {
    const text = "$ORIGIN example.test.\na IN A 192.0.2.1\n$TTL 1h\nb IN A 192.0.2.2\n";
    const ttls = loadZoneFile(writeZone("x.zone", text), opts).records.map((rr) => rr.ttl);
    expect(ttls).toEqual([5, 3600]);
  });

  describe("rejects bad fixtures at the line at fault", () => {
    test.each([
      ["bad-ipv4.zone", 7, 'A address: "192.0.2.256" is not a dotted-quad IPv4 address'],
      ["unknown-type.zone", 6, "type: unknown type BOGUS"],
      ["outside-origin.zone", 6, "www.example.org. is outside the zone example.test."],
      [
        "cname-and-a.zone",
        7,
        "A beside CNAME at line 5 for www.example.test.: a CNAME owner has no other data",
      ],
      ["second-soa.zone", 3, "a second SOA (the first is at line 2)"],
      ["unreadable.zone", 4, "cannot read this record"],
      ["digit-owner.zone", 3, "an owner name starting with a digit needs an explicit TTL"],
    ])("%s fails at line %i", (name, line, reason) => {
      const file = `${fixtures}/bad/${name}`;
      const err = loadError(file);
      expect(err).toMatchObject({ file, line, code: "EZONEFILE" });
      expect(err.message.startsWith(`${file}:${line}: `)).toBe(true);
      expect(err.reason).toContain(reason);
    });
  });

  const head = "$ORIGIN example.test.\n$TTL 300\n";
  test.each([
    ["a relative $ORIGIN", `${head}$ORIGIN sub\n`, 3, "must be an absolute name"],
    ["the root as $ORIGIN", "$ORIGIN .\n", 1, "root zone"],
    ["$INCLUDE, which dnsz skips silently", `${head}$INCLUDE other.zone\n`, 3, "$INCLUDE is not supported"],
    ["a $TTL that is not a TTL", `${head}$TTL soon\n`, 3, "$TTL soon is not a TTL"],
    ["an unclosed parenthesis", `${head}\n@ IN SOA ns hm ( 1 2 3\n 4 5\n`, 4, "unclosed ("],
    ["a stray closing parenthesis", `${head}www IN A 192.0.2.1 )\n`, 3, "unmatched )"],
    ["an unterminated quoted string", `${head}t IN TXT "open\n`, 3, "unterminated quoted string"],
    ["a class other than IN", `${head}www CH A 192.0.2.1\n`, 3, "class CH is not supported"],
    [
      "an SOA without a class, which dnsz misreads",
      `${head}@ SOA ns hm 1 2 3 4 5\n`,
      3,
      "write the class IN",
    ],
    ["the class before the TTL", `${head}www IN 60 A 192.0.2.1\n`, 3, "in that order"],
    ["an empty label in an owner name", `${head}www..x IN A 192.0.2.1\n`, 3, "owner: empty label"],
    [
      "a first record with a blank owner",
      `${head}  IN A 192.0.2.1\n`,
      3,
      "the first record has no owner name",
    ],
    ["an SOA away from the origin", `${head}sub IN SOA ns hm 1 2 3 4 5\n`, 3, "not at the zone origin"],
    ["two CNAMEs at one name", `${head}w IN CNAME a\nw IN CNAME b\n`, 4, "CNAME beside CNAME at line 3"],
    ["a record before the origin is known", "www 60 IN A 192.0.2.1\n", 1, "no origin"],
  ])("rejects %s", (_, text, line, reason) => {
    const err = loadError(writeZone("example.db", text));
    expect(err.line).toBe(line);
    expect(err.reason).toContain(reason);
  });

  test("a missing file is a ZoneFileError for the whole file", () => {
    const file = join(scratch, "absent.zone");
    expect(loadError(file)).toMatchObject({ file, line: 0, code: "EZONEFILE" });
  });
});

describe("formatZone", () => {
  const origin = fqdn("cluster.local");
  const records = [
    "web.demo.svc.cluster.local. 5 IN A 10.96.12.7",
    "cluster.local. 30 IN NS ns.dns.cluster.local.",
    "10-244-1-5.web.demo.svc.cluster.local. 5 IN A 10.244.1.5",
    "cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 3600 1209600 5",
    "_http._tcp.web.demo.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-5.web.demo.svc.cluster.local.",
    "web.demo.svc.cluster.local. 5 IN AAAA fd00::7",
    'cluster.local. 30 IN TXT "two  spaces (and parentheses)" "quote \\" and ; semicolon"',
    "ext.cluster.local. 60 IN CNAME example.org.",
  ].map((line) => parseRr(line));

  test("writes $ORIGIN, the SOA first, then records grouped by owner name", () => {
    expect(formatZone(origin, records)).toBe(
      [
        "$ORIGIN cluster.local.",
        "@                       30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 3600 1209600 5",
        "web.demo.svc            5 IN A 10.96.12.7",
        "web.demo.svc            5 IN AAAA fd00::7",
        "@                       30 IN NS ns.dns.cluster.local.",
        '@                       30 IN TXT "two  spaces \\040and parentheses\\041" "quote \\" and ; semicolon"',
        "10-244-1-5.web.demo.svc 5 IN A 10.244.1.5",
        "_http._tcp.web.demo.svc 5 IN SRV 0 65535 8080 10-244-1-5.web.demo.svc.cluster.local.",
        "ext                     60 IN CNAME example.org.",
        "",
      ].join("\n"),
    );
  });

  test("loadZoneFile reads the written file back to the same records", () => {
    const path = writeZone("anything.zone", formatZone(origin, records));
    const zone = loadZoneFile(path, opts);
    expect(zone.origin).toBe(origin);
    expect(formatRrs(zone.records).sort()).toEqual(formatRrs(records).sort());
  });

  test("the cluster.local fixture survives a format and load", () => {
    const original = loadZoneFile(`${fixtures}/cluster.local.zone`, opts);
    const copy = loadZoneFile(writeZone("copy.zone", formatZone(original.origin, original.records)), opts);
    expect(formatRrs(copy.records).sort()).toEqual(formatRrs(original.records).sort());
  });
});

describe("loadZoneDir", () => {
  test("loads every .zone file in name order and ignores other names", () => {
    const dir = join(scratch, "dir");
    mkdirSync(join(dir, "..data"), { recursive: true });
    writeFileSync(join(dir, "b.test.zone"), "@ 60 IN NS ns.b.test.\n");
    writeFileSync(join(dir, "a.test.zone"), "@ 60 IN NS ns.a.test.\n");
    writeFileSync(join(dir, "README"), "not a zone\n");
    expect(loadZoneDir(dir, opts).map((z) => z.origin)).toEqual(["a.test.", "b.test."]);
  });

  test("refuses two files for the same zone", () => {
    const dir = join(scratch, "dup");
    mkdirSync(dir);
    writeFileSync(join(dir, "a.zone"), "$ORIGIN same.test.\n@ 60 IN NS ns\n");
    writeFileSync(join(dir, "b.zone"), "$ORIGIN same.test.\n@ 60 IN NS ns\n");
    expect(() => loadZoneDir(dir, opts)).toThrow(
      /b\.zone:0: zone same\.test\. is also loaded from .*a\.zone$/,
    );
  });
});
