/**
 * The bare Node.js ceiling: a UDP responder that answers every query with one canned A record, with no lookup,
 * no cache and no metrics. It copies the header and question, sets QR and AA, drops any OPT record, and appends
 * `<qname> 5 IN A 10.0.0.1` as a compressed pointer to the question. Usage: node bare-responder.js PORT
 */
import dgram from "node:dgram";

const ANSWER = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1]);
const port = Number(process.argv[2]);
const socket = dgram.createSocket("udp4");

socket.on("message", (msg, peer) => {
  if (msg.length < 17 || (msg[2]! & 0x80) !== 0) return;
  let end = 12;
  while (end < msg.length && msg[end] !== 0) end += msg[end]! + 1;
  end += 5;
  if (end > msg.length) return;
  const out = Buffer.allocUnsafe(end + ANSWER.length);
  msg.copy(out, 0, 0, end);
  out[2] = 0x84 | (msg[2]! & 0x01);
  out[3] = 0;
  out.writeUInt32BE(0x00010001, 4);
  out.writeUInt32BE(0, 8);
  ANSWER.copy(out, end);
  socket.send(out, peer.port, peer.address);
});
socket.bind(port, "127.0.0.1");
