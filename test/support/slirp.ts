/**
 * slirp-fullbolt as a real SLIP/PPP peer for the interop tests: a node:net TCP echo service on
 * 127.0.0.1 (which slirp NATs to 10.0.2.2), slirp with its stdin/stdout on the slave of one of our
 * pty pairs (`nozeros` always: five 0x00 bytes in a row would end its session), the 64 KiB echo
 * through a `Network` over the link under test, and the tshark check of the capture.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { openPty, type PtyMaster } from '../../src/runtime/pty.ts';
import type { Network } from '../../src/socket/network.ts';
import { concatBytes } from '../../src/wire/bytes.ts';
import { run, type Peers } from './interop.ts';
import { pattern } from './stack-net.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BAD = '_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad" || _ws.expert.severity == "Error"';

export interface Slirp {
  /** Our end of the pty: the link under test runs on it. */
  readonly master: PtyMaster;
  /** The echo service's port (reach it at 10.0.2.2). */
  readonly port: number;
  /** What slirp printed so far. */
  out(): string;
}

/** Starts the echo service and `slirp-fullbolt [ppp] nozeros` on a pty; `cleanups` gets what undoes them. */
export async function startSlirp(mode: 'slip' | 'ppp', peers: Peers, cleanups: (() => void | Promise<void>)[]): Promise<Slirp> {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  cleanups.push(() => new Promise<void>((r) => echo.close(() => r())));
  const port = (echo.address() as net.AddressInfo).port;
  const master = openPty();
  cleanups.push(() => master.close());
  const fd = openSync(master.path, 'r+');
  const slirp = peers.spawn('slirp-fullbolt', mode === 'ppp' ? ['ppp', 'nozeros'] : ['nozeros'], { stdio: [fd, fd, 'pipe'] });
  closeSync(fd);
  cleanups.push(() => {
    slirp.kill('SIGKILL');
  });
  await peers.waitFor(slirp, /SLiRP Ready/, 10_000);
  return { master, port, out: () => slirp.out() };
}

/** Sends `size` bytes to the echo service through `network` and checks they come back (SHA-256); the time taken. */
export async function echoThroughSlirp(network: Network, slirp: Slirp, size: number, seed: number, timeoutMs = 60_000): Promise<number> {
  const data = pattern(size, seed);
  const socket = await network.connect(`10.0.2.2:${slirp.port}`);
  const t0 = Date.now();
  const reading = (async () => {
    const parts: Uint8Array[] = [];
    for await (const chunk of socket) parts.push(chunk.slice());
    return concatBytes(parts);
  })();
  await socket.write(data);
  await socket.end();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no full echo within ${timeoutMs} ms; slirp said:\n${slirp.out()}`)), timeoutMs).unref());
  const back = await Promise.race([reading, timeout]);
  const ms = Date.now() - t0;
  await socket.close();
  assert.equal(back.length, size);
  assert.equal(sha(back), sha(data));
  return ms;
}

/**
 * tshark over the finished capture, checksums verified, the echo port decoded as data: at least
 * `minTcp` TCP frames and none malformed, with a bad checksum or an expert error. Returns a summary.
 */
export async function checkSlirpCapture(file: string, port: number, minTcp: number): Promise<string> {
  const base = ['-r', file, '-n', '-d', `tcp.port==${port},data`, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
  const r = await run('tshark', [...base, '-T', 'fields', '-e', 'frame.number', '-e', 'ip.src', '-e', 'tcp.len', '-e', '_ws.malformed', '-e', '_ws.expert.severity', '-Y', `${BAD} || tcp`], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.out.slice(-2000));
  const rows = r.out.split('\n').filter((l) => /^\d+\t/.test(l));
  const bad = await run('tshark', [...base, '-Y', BAD, '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Info', '-e', '_ws.expert.message'], { timeoutMs: 60_000 });
  const badRows = bad.out.split('\n').filter((l) => /^\d+\t/.test(l));
  assert.ok(rows.length >= minTcp, `tshark saw ${rows.length} TCP frames`);
  assert.equal(badRows.length, 0, `bad frames in ${file}:\n${badRows.slice(0, 30).join('\n')}`);
  return `tshark: ${rows.length} TCP frames in the capture, ${badRows.length} bad`;
}
