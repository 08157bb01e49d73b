#!/usr/bin/env node
// A kernel-side echo peer for the interop tier (plain node:net and node:dgram, its own
// process): echoes every TCP byte back until the client ends, and every UDP datagram.
// Unlike sockserver's echo it has no in-band close byte (ESC), so any payload is safe.
//
//   node echo-peer.mjs HOST PORT      TCP and UDP echo on HOST:PORT; prints `ready`
import dgram from 'node:dgram';
import net from 'node:net';

const [host, portText] = process.argv.slice(2);
const port = Number(portText);
const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
const server = net.createServer((s) => {
  s.pipe(s);
  s.on('error', () => s.destroy());
});
udp.bind(port, host, () => server.listen(port, host, () => process.stdout.write('ready\n')));
