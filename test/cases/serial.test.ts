/**
 * The SOA serial moves forward when, and only when, the served data changes (RFC 1982 arithmetic; secondaries and
 * caches compare it). Each test edits a private copy of the fixtures and reloads, as SIGHUP does.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CLUSTER_FIXTURES, type ZoneHarness, zoneHarness } from "../support/zone-harness.js";

/** The serial of cluster.local.zone: a date-style serial, above the seconds-since-epoch the store would use. */
const FILE_SERIAL = 2025061801;

let dir: string;
let h: ZoneHarness;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "podns-serial-"));
  cpSync(CLUSTER_FIXTURES, dir, { recursive: true });
  h = zoneHarness({ paths: [dir, path.join(dir, "reverse")] });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function edit(file: string, from: string, to: string): void {
  const full = path.join(dir, file);
  const text = readFileSync(full, "utf8");
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  writeFileSync(full, text.replace(from, to));
}

/** The serial every served zone's SOA carries now. */
function servedSerials(): number[] {
  return ["cluster.local.", "10.in-addr.arpa.", "d.f.ip6.arpa."].map((zone) =>
    Number(h.ask(zone, "SOA").answer[0]?.split(" ")[6]),
  );
}

describe("SOA serial", () => {
  it("starts at the zone file's serial when that is ahead of the clock, in every zone", () => {
    expect(h.store.soaSerial).toBe(FILE_SERIAL);
    expect(servedSerials()).toEqual([FILE_SERIAL, FILE_SERIAL, FILE_SERIAL]);
  });

  it("stays put when a publish finds nothing changed", () => {
    h.publish();
    expect(servedSerials()).toEqual([FILE_SERIAL, FILE_SERIAL, FILE_SERIAL]);
  });

  it("stays put when a reload reads the same files", () => {
    expect(h.reload()).toBe(true);
    expect(servedSerials()).toEqual([FILE_SERIAL, FILE_SERIAL, FILE_SERIAL]);
  });

  it("stays put when an object changes in a way no record shows", () => {
    edit("storefront.yaml", 'resourceVersion: "48211"', 'resourceVersion: "48990"');
    h.reload();
    expect(servedSerials()).toEqual([FILE_SERIAL, FILE_SERIAL, FILE_SERIAL]);
  });

  it("increases in every zone when an endpoint becomes ready", () => {
    edit("storefront.yaml", "ready: false", "ready: true");
    h.reload();
    expect(h.ask("10-244-3-31.storefront.shop.svc.cluster.local.", "A").answer).toEqual([
      "10-244-3-31.storefront.shop.svc.cluster.local. 5 IN A 10.244.3.31",
    ]);
    expect(h.store.soaSerial).toBe(FILE_SERIAL + 1);
    expect(servedSerials()).toEqual([FILE_SERIAL + 1, FILE_SERIAL + 1, FILE_SERIAL + 1]);
  });

  it("increases when a pod's weight changes", () => {
    edit("storefront.yaml", 'podns.io/weight: "300"', 'podns.io/weight: "100"');
    h.reload();
    expect(h.ask("_http._tcp.storefront.shop.svc.cluster.local.", "SRV").answer).toEqual([
      "_http._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-1-15.storefront.shop.svc.cluster.local.",
      "_http._tcp.storefront.shop.svc.cluster.local. 5 IN SRV 0 65535 8080 10-244-2-23.storefront.shop.svc.cluster.local.",
    ]);
    expect(servedSerials()).toEqual([FILE_SERIAL + 1, FILE_SERIAL + 1, FILE_SERIAL + 1]);
  });

  it("increases when a zone file's record changes", () => {
    edit("cluster.local.zone", '"owner=team-storefront"', '"owner=team-checkout"');
    h.reload();
    expect(servedSerials()).toEqual([FILE_SERIAL + 1, FILE_SERIAL + 1, FILE_SERIAL + 1]);
  });

  it("follows a zone file whose serial an operator raised past the served one", () => {
    edit("cluster.local.zone", "2025061801 ; serial", "2025070100 ; serial");
    h.reload();
    expect(servedSerials()).toEqual([2025070100, 2025070100, 2025070100]);
  });

  it("increases once per change and never goes back", () => {
    const seen = [h.store.soaSerial];
    edit("storefront.yaml", "ready: false", "ready: true");
    h.reload();
    seen.push(h.store.soaSerial);
    edit("storefront.yaml", "ready: true", "ready: false");
    h.reload();
    seen.push(h.store.soaSerial);
    expect(seen).toEqual([FILE_SERIAL, FILE_SERIAL + 1, FILE_SERIAL + 2]);
  });
});
