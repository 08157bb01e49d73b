/**
 * The bulk transfers of the TAP TCP interop files (tap-tcp, tap-tcp6): the userspace
 * stack against a plain node:net process on the kernel's side (`tcp-peer.mjs`), `bytes`
 * of deterministic incompressible data one way, SHA-256 compared at both ends, the rate
 * (and the frames the fault injector dropped) as a test diagnostic.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Peers, TapHost } from './interop.ts';

const PEER = new URL('./tcp-peer.mjs', import.meta.url).pathname;

interface PeerReport {
  bytes: number;
  sha256: string;
  ms: number;
  mbps: number;
  error?: string;
}

function lastJson(out: string): PeerReport {
  const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  assert.ok(line !== undefined, `no report from the peer:\n${out}`);
  return JSON.parse(line) as PeerReport;
}

function lossText(h: TapHost): string {
  const f = h.fault?.stats();
  return f === undefined ? '' : `; frames lost so far: ${f.tx.lost} of ${f.tx.frames} sent, ${f.rx.lost} of ${f.rx.frames} received`;
}

/** Deterministic, incompressible data, one 64 KiB chunk at a time. */
function* chunks(total: number): Generator<Uint8Array> {
  let x = 0x12345678;
  for (let sent = 0; sent < total;) {
    const n = Math.min(65536, total - sent);
    const c = new Uint8Array(n);
    const w = new Int32Array(c.buffer, 0, n >> 2);
    for (let i = 0; i < w.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      w[i] = x;
    }
    sent += n;
    yield c;
  }
}

interface Diagnostics {
  diagnostic(message: string): void;
}

/** The stack connects to a kernel sink on `kernelHost:port` (`connectTo`: how the stack names it) and sends `bytes`. */
export async function stackToKernel(t: Diagnostics, h: TapHost, peers: Peers, kernelHost: string, connectTo: string, port: number, bytes: number): Promise<void> {
  const sink = peers.spawn(process.execPath, [PEER, 'sink', kernelHost, String(port)]);
  await peers.waitFor(sink, /ready/);
  const t0 = performance.now();
  const sock = await h.network.connect(connectTo, { timeoutMs: 5000 });
  const hash = createHash('sha256');
  for (const c of chunks(bytes)) {
    hash.update(c);
    await sock.write(c);
  }
  await sock.end();
  assert.equal(await sock.read(), null, 'the kernel closed after reading everything');
  await sock.close();
  const report = lastJson((await peers.waitFor(sink, /\{.*\}\n/, 120_000)).input ?? sink.out());
  const secs = (performance.now() - t0) / 1000;
  t.diagnostic(`${(bytes / 1e6 / secs).toFixed(1)} MB/s stack -> kernel${lossText(h)}`);
  assert.equal(report.bytes, bytes);
  assert.equal(report.sha256, hash.digest('hex'));
}

/** The stack listens on `stackHost:port`; a kernel source connects and sends `bytes`. */
export async function kernelToStack(t: Diagnostics, h: TapHost, peers: Peers, stackHost: string, port: number, bytes: number): Promise<void> {
  const server = await h.network.listen({ host: stackHost, port });
  const source = peers.spawn(process.execPath, [PEER, 'source', stackHost, String(port), String(bytes)]);
  const sock = await server.accept({ timeoutMs: 5000 });
  const t0 = performance.now();
  const hash = createHash('sha256');
  let got = 0;
  for (let c = await sock.read(); c !== null; c = await sock.read()) {
    hash.update(c);
    got += c.length;
  }
  const secs = (performance.now() - t0) / 1000;
  await sock.close();
  await server.close();
  const report = lastJson((await peers.waitFor(source, /\{.*\}\n/, 120_000)).input ?? source.out());
  t.diagnostic(`${(got / 1e6 / secs).toFixed(1)} MB/s kernel -> stack${lossText(h)}`);
  assert.equal(got, bytes);
  assert.equal(report.bytes, bytes);
  assert.equal(hash.digest('hex'), report.sha256);
}
