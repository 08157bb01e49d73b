#!/usr/bin/env node
// A kernel-side TCP peer for the interop tier and the TAP benchmarks (plain node:net,
// its own process, so it does not share an event loop with the stack under test).
//
//   node tcp-peer.mjs sink HOST PORT [--no-hash]            accept one connection, read to EOF
//   node tcp-peer.mjs source HOST PORT BYTES [--no-hash]    connect, send BYTES pseudo-random bytes, end
//
// The data comes from one 1 MiB pseudo-random pool made at start, sent as 64 KiB slices
// at shifting offsets (so the peer itself is never the bottleneck); --no-hash skips the
// SHA-256 (benchmarks: `sha256` is then empty).
//
// Prints `ready` once listening (sink) and, at the end, one JSON line:
//   {"bytes":N,"sha256":"...","ms":T,"mbps":R}   (ms from the first to the last byte)
import { createHash } from 'node:crypto';
import net from 'node:net';

const args = process.argv.slice(2).filter((a) => a !== '--no-hash');
const hashing = !process.argv.includes('--no-hash');
const [mode, host, portText, bytesText] = args;
const port = Number(portText);

/** A hash that does nothing (for --no-hash). */
const noHash = { update() {}, digest: () => '' };
const newHash = () => (hashing ? createHash('sha256') : noHash);

function report(bytes, hash, t0) {
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ bytes, sha256: hash.digest('hex'), ms: Math.round(ms), mbps: Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10 })}\n`);
}

if (mode === 'sink') {
  const server = net.createServer((s) => {
    const hash = newHash();
    let bytes = 0;
    let t0 = 0;
    s.on('data', (d) => {
      if (bytes === 0) t0 = performance.now();
      bytes += d.length;
      hash.update(d);
    });
    s.on('end', () => {
      report(bytes, hash, t0);
      s.end();
      server.close();
    });
    s.on('error', (e) => {
      process.stdout.write(`${JSON.stringify({ error: e.code ?? e.message, bytes })}\n`);
      process.exitCode = 1;
      server.close();
    });
  });
  server.listen(port, host, () => process.stdout.write('ready\n'));
} else if (mode === 'source') {
  const total = Number(bytesText);
  // A xorshift32 pool, sent in slices at shifting offsets: not compressible, no short period.
  const CHUNK = 64 * 1024;
  const POOL = 1 << 20;
  const pool = Buffer.alloc(POOL + CHUNK);
  let x = 0x9e3779b9;
  for (let i = 0; i < pool.length; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    pool.writeInt32LE(x | 0, i);
  }
  let offset = 0;
  const hash = newHash();
  const s = net.connect(port, host, () => {
    const t0 = performance.now();
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(CHUNK, total - sent);
        const piece = pool.subarray(offset, offset + n);
        offset = (offset + 4099 * 16) % POOL;
        hash.update(piece);
        sent += n;
        if (!s.write(piece)) return void s.once('drain', pump);
      }
      s.end(() => report(sent, hash, t0));
    };
    pump();
  });
  s.on('error', (e) => {
    process.stdout.write(`${JSON.stringify({ error: e.code ?? e.message })}\n`);
    process.exitCode = 1;
  });
  s.on('close', () => process.exit());
} else {
  process.stderr.write('usage: tcp-peer.mjs sink HOST PORT | source HOST PORT BYTES\n');
  process.exit(2);
}
