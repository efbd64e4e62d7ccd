import { describe, expect, it } from "vitest";
import { toService, toSlice } from "../../src/k8s/convert.js";
import { expectReply, type QueryCase, WEIGHT_FIXTURES, zoneHarness } from "../support/zone-harness.js";

const h = zoneHarness({ paths: [WEIGHT_FIXTURES] });

const a = (service: string, address: string) => `${service}.rollout.svc.cluster.local. 5 IN A ${address}`;
const host = (service: string, address: string) =>
  `${address.replaceAll(".", "-")}.${service}.rollout.svc.cluster.local. 5 IN A ${address}`;
const srv = (service: string, address: string) =>
  `_http._tcp.${service}.rollout.svc.cluster.local. 5 IN SRV 0 65535 8080 ${address.replaceAll(".", "-")}.${service}.rollout.svc.cluster.local.`;

const cases: QueryCase[] = [
  {
    says: "a draining endpoint is left out of A while another endpoint is ready",
    qname: "ledger.rollout.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [a("ledger", "10.244.9.1")],
  },
  {
    says: "a draining endpoint is left out of SRV while another endpoint is ready",
    qname: "_http._tcp.ledger.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("ledger", "10.244.9.1")],
    additional: [host("ledger", "10.244.9.1")],
  },
  {
    says: "a draining endpoint is published in A when no endpoint is ready, and a not-serving one still is not",
    qname: "solo.rollout.svc.cluster.local.",
    qtype: "A",
    rcode: "NOERROR",
    answer: [a("solo", "10.244.9.11")],
  },
  {
    says: "a draining endpoint is published in SRV when no endpoint is ready",
    qname: "_http._tcp.solo.rollout.svc.cluster.local.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [srv("solo", "10.244.9.11")],
    additional: [host("solo", "10.244.9.11")],
  },
];

describe("draining endpoints", () => {
  it.each(cases)("$says", (row) => expectReply(h, row));

  it("a terminating endpoint that no longer serves is never published", () => {
    const got = h.ask("halted.rollout.svc.cluster.local.", "A");
    expect(got.rcode).toBe("NXDOMAIN");
    expect(got.answer).toEqual([]);
    expect(got.authority).toHaveLength(1);
    expect(got.authority[0]).toMatch(/^cluster\.local\. 5 IN SOA /);
  });
});

describe("a rolling update of a one-replica headless Service", () => {
  type Conditions = { ready: boolean; serving: boolean; terminating: boolean };
  const READY = { ready: true, serving: true, terminating: false };
  const STARTING = { ready: false, serving: false, terminating: false };
  const DRAINING = { ready: false, serving: true, terminating: true };
  const GONE = { ready: false, serving: false, terminating: true };
  const OLD = "10.244.9.31";
  const NEW = "10.244.9.32";

  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "single", namespace: "rollout" },
    spec: {
      clusterIP: "None",
      selector: { app: "single" },
      ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }],
    },
  };
  /** The EndpointSlice as the controller rewrites it at each step, its old and new pod with their conditions. */
  const slice = (old: Conditions | undefined, neu: Conditions | undefined) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: "single-x7d2q",
      namespace: "rollout",
      labels: { "kubernetes.io/service-name": "single" },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: [
      ...(old
        ? [{ addresses: [OLD], conditions: old, targetRef: { kind: "Pod", name: "single-6c8b-old" } }]
        : []),
      ...(neu
        ? [{ addresses: [NEW], conditions: neu, targetRef: { kind: "Pod", name: "single-7f9d-new" } }]
        : []),
    ],
  });

  const steps = [
    { step: "1. the old pod serves alone", old: READY, neu: undefined, serving: [OLD] },
    { step: "2. the new pod is created and starts", old: READY, neu: STARTING, serving: [OLD] },
    { step: "3. the old pod is told to stop and drains", old: DRAINING, neu: STARTING, serving: [OLD] },
    { step: "4. the new pod is ready", old: DRAINING, neu: READY, serving: [NEW] },
    { step: "5. the old pod stops serving", old: GONE, neu: READY, serving: [NEW] },
    { step: "6. the old pod is gone", old: undefined, neu: READY, serving: [NEW] },
  ];

  it("answers every step with a serving address and never NXDOMAIN", () => {
    const rolling = zoneHarness({ paths: [WEIGHT_FIXTURES] });
    rolling.catalog.setService(toService(service, () => {})!);
    const seen = steps.map(({ step, old, neu }) => {
      rolling.catalog.setSlice(toSlice(slice(old, neu))!);
      rolling.publish();
      const reply = rolling.ask("single.rollout.svc.cluster.local.", "A");
      const srvReply = rolling.ask("_http._tcp.single.rollout.svc.cluster.local.", "SRV");
      return {
        step,
        rcode: reply.rcode,
        serving: reply.answer.map((rr) => rr.split(" ").pop()),
        srvRcode: srvReply.rcode,
        srvTargets: srvReply.answer.map((rr) => rr.split(" ").pop()),
      };
    });
    expect(seen).toEqual(
      steps.map(({ step, serving }) => ({
        step,
        rcode: "NOERROR",
        serving,
        srvRcode: "NOERROR",
        srvTargets: serving.map((ip) => `${ip.replaceAll(".", "-")}.single.rollout.svc.cluster.local.`),
      })),
    );
  });
});
