/**
 * The userspace stack in a browser (issue 11 item 3): web/stack-page/ bundled with
 * scripts/build-browser.mjs (esbuild, platform browser, no Node built-ins), served by the
 * ws-bridge, run in Debian's headless Chromium. The page's stack joins the Node-side gateway
 * stack over a WebSocket link (one Ethernet frame per message, through a virtual switch), gets
 * its address by DHCP, resolves the gateway by DNS, echoes random bytes through the gateway's TCP
 * echo service, and GETs three resources (a text, bytes with a Content-Length, the same bytes
 * chunked) from `node:http` running over the gateway's userspace sockets; then two pages at once
 * (distinct leases, both echo and GET). First the same bridge is checked from a Node-side stack over `ws` (no browser needed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { buildBrowserBundle, ROOT } from '../../scripts/build-browser.mjs';
import { BROWSER_GATEWAY_NET, HELLO_BODY, httpDataByte, startBrowserGateway, WsBridge } from '../../src/apps/ws-bridge/index.ts';
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import { WebSocketLink } from '../../src/link/websocket-link.ts';
import { CryptoRng } from '../../src/runtime/crypto-rng.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { systemScheduler } from '../../src/runtime/system-scheduler.ts';
import { Network } from '../../src/socket/network.ts';
import { Dhcp4Client, type Dhcp4Lease } from '../../src/stack/dhcp/dhcp4-client.ts';
import { Stack } from '../../src/stack/stack.ts';
import type { StackPageResult } from '../../web/stack-page/result.ts';
import { launchChromium } from '../support/chromium.ts';

const ECHO_SIZES = [65_536, 1_048_576];
const DATA_BYTES = 262_144;
const SHORT_PROBES = { probeWaitMs: 10, probeNum: 3, probeMinMs: 20, probeMaxMs: 40, announceWaitMs: 50 };

function waitFor<T>(what: string, timeoutMs: number, start: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = systemScheduler.setTimer(timeoutMs, () => reject(new Error(`${what}: nothing within ${timeoutMs} ms`)));
    start((v) => {
      cancel();
      resolve(v);
    });
  });
}

test('scripts/build-browser.mjs: src/browser.ts bundles for the browser; a Node built-in fails the build', { timeout: 120_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'iotnet-browser-build-'));
  try {
    const b = await buildBrowserBundle({ outfile: join(work, 'iotnet.js') });
    t.diagnostic(`src/browser.ts -> ${b.bytes} bytes minified (${b.gzipBytes} gzipped), ${b.inputs.length} inputs`);
    assert.deepEqual(b.inputs.filter((f) => f.startsWith('node:') || f.includes('src/socket/duplex.ts')), []);
    assert.ok(b.inputs.some((f) => f.endsWith('src/runtime/browser-no-duplex.ts')), 'the Duplex stand-in is in');
    for (const name of ['Stack', 'WebSocketLink', 'createBrowserRunner', 'createUserspaceBackend', 'Network', 'Dhcp4Client', 'CryptoRng', 'SocketError']) {
      assert.ok(b.exports.includes(name), `the bundle exports ${name}`);
    }
    for (const spec of ['node:fs', 'stream', 'node:crypto']) {
      const entry = join(work, `bad-${spec.replace(':', '-')}.ts`);
      writeFileSync(entry, `import * as m from '${spec}';\nexport const x = m;\n`);
      await assert.rejects(buildBrowserBundle({ entry, outfile: join(work, 'bad.js') }), (e: Error) => {
        assert.match(e.message, new RegExp(`Node built-in '${spec}'.*not allowed in a browser bundle`));
        return true;
      });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/** Polls `check` every 10 ms until it holds (real time; the bridge's counters move as ws delivers). */
function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  return waitFor<void>(what, timeoutMs, (done) => {
    const poll = (): void => {
      if (check()) done();
      else systemScheduler.setTimer(10, poll);
    };
    poll();
  });
}

test('ws-bridge from a Node-side stack over ws: DHCP, TCP echo, HTTP; bad messages counted, an over-long one ends only its connection', { timeout: 90_000 }, async (t) => {
  const gw = await startBrowserGateway();
  const bridge = await WsBridge.start(gw.switch);
  const ws = new WebSocket(bridge.url);
  ws.on('error', () => {});
  await waitFor<void>('ws open', 10_000, (done) => ws.once('open', () => done()));
  const rng = new CryptoRng();
  const stack = new Stack({ rng, name: 'node-client' });
  const link = new WebSocketLink(ws);
  const ifIndex = stack.addInterface(link, { name: 'ws0' });
  const runner = new StackRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { rng });
  const net = new Network(backend, { rng });
  try {
    const dhcp = new Dhcp4Client(stack, { ifIndex, timing: SHORT_PROBES });
    const lease = await waitFor<Dhcp4Lease>('DHCP lease', 15_000, (done) => {
      dhcp.on((e) => {
        if (e.type === 'bound') done(e.lease);
      });
      dhcp.start(runner.now());
    });
    assert.equal(Stack.format(lease.serverId), BROWSER_GATEWAY_NET.gateway);
    const data = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const socket = await net.connect({ host: BROWSER_GATEWAY_NET.gateway, port: BROWSER_GATEWAY_NET.echoPort }, { timeoutMs: 10_000 });
    const t0 = performance.now();
    const writing = socket.write(data);
    const got: Uint8Array[] = [];
    let n = 0;
    while (n < data.length) {
      const chunk = await socket.read({ timeoutMs: 20_000 });
      assert.ok(chunk !== null, 'echo ended early');
      got.push(chunk);
      n += chunk.length;
    }
    await writing;
    const ms = performance.now() - t0;
    await socket.close();
    assert.ok(Buffer.concat(got).equals(data), 'the echo is byte for byte what was sent');
    t.diagnostic(`Node client over ws: echo of ${data.length} B in ${ms.toFixed(0)} ms (${(data.length / 1024 / (ms / 1000)).toFixed(0)} KiB/s each way)`);
    const http = await net.connect({ host: BROWSER_GATEWAY_NET.gateway, port: BROWSER_GATEWAY_NET.httpPort }, { timeoutMs: 10_000 });
    await http.write('GET /hello HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n');
    const parts: Uint8Array[] = [];
    for await (const chunk of http) parts.push(chunk);
    const text = Buffer.concat(parts).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.endsWith(`\r\n\r\n${HELLO_BODY}`), text);
    assert.equal(bridge.stats().open, 1);

    // Untrusted input on the bridge's side: counted and dropped, the connection goes on.
    const conn = bridge.connections()[0];
    assert.ok(conn !== undefined);
    ws.send('a text message');
    ws.send(Buffer.alloc(5));
    ws.send(Buffer.alloc(1515));
    await until('bad messages counted', 10_000, () => conn.link.stats().rxMalformed === 2 && conn.link.stats().rxOversize === 1);
    const again = await net.connect({ host: BROWSER_GATEWAY_NET.gateway, port: BROWSER_GATEWAY_NET.echoPort }, { timeoutMs: 10_000 });
    await again.write('still there');
    assert.equal(new TextDecoder().decode((await again.read({ timeoutMs: 10_000 })) ?? new Uint8Array(0)), 'still there');
    await again.close();
    // Above maxPayload, ws closes the connection (1009); the bridge closes its switch port.
    const portsBefore = gw.switch.portCount;
    ws.send(Buffer.alloc(70_000));
    await until('the connection closed', 10_000, () => bridge.stats().closed === 1);
    assert.equal(gw.switch.portCount, portsBefore - 1);
    await until('the client link down', 10_000, () => !link.linkState.up);
    assert.match(link.downCause ?? '', /1009/);
  } finally {
    await net.close();
    await backend.close();
    runner.close();
    stack.close();
    link.close();
    await bridge.close();
    await gw.close();
  }
  assert.deepEqual([bridge.stats().accepted, bridge.stats().open], [1, 0]);
});

test('the userspace stack in headless Chromium: DHCP, DNS, TCP echo and HTTP through the Node-side stack', { timeout: 240_000 }, async (t) => {
  const browser = await launchChromium(t, 'the browser stack page');
  if (browser === undefined) return;
  const work = mkdtempSync(join(tmpdir(), 'iotnet-browser-stack-'));
  const problems: string[] = [];
  const gw = await startBrowserGateway({ onError: (e, where) => problems.push(`gateway ${where}: ${String(e)}`) });
  let bridge: WsBridge | undefined;
  try {
    const bundle = await buildBrowserBundle({ entry: 'web/stack-page/main.ts', outfile: join(work, 'stack-page.js'), minify: false, sourcemap: false });
    t.diagnostic(`page bundle: ${bundle.bytes} bytes (${bundle.gzipBytes} gzipped), ${bundle.inputs.length} inputs, no Node built-ins`);
    bridge = await WsBridge.start(gw.switch, {
      files: {
        '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(ROOT, 'web/stack-page/index.html')) },
        '/stack-page.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(bundle.outfile) },
      },
    });
    /** Opens the page at `url` in a new tab and returns its results once it is done. */
    const runPage = async (url: string): Promise<StackPageResult> => {
      const page = await browser.newPage();
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);
      await page.waitForFunction('window.iotnetStackPage?.done === true', undefined, { timeout: 180_000 });
      const result = (await page.evaluate('window.iotnetStackPage')) as StackPageResult;
      await page.close();
      return result;
    };
    const r = await runPage(`${bridge.origin}/?echo=${ECHO_SIZES.join(',')}&data=${DATA_BYTES}`);
    for (const s of r.steps) t.diagnostic(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.ms.toFixed(0)} ms): ${s.detail}`);
    t.diagnostic(`browser: ${r.userAgent}`);
    t.diagnostic(`page link: ${JSON.stringify(r.link)}`);
    assert.equal(r.error, undefined, `the page failed: ${r.error}`);
    assert.ok(r.ok, 'every step of the page passed');

    // DHCP: an address from the gateway's pool, the gateway as router and DNS server.
    assert.ok(r.lease !== undefined);
    const last = Number(r.lease.address.split('.')[3]);
    assert.ok(r.lease.address.startsWith('10.77.0.') && last >= 100 && last <= 199, `lease ${r.lease.address} in the pool`);
    assert.equal(r.lease.gateway, BROWSER_GATEWAY_NET.gateway);
    assert.deepEqual(r.lease.dns, [BROWSER_GATEWAY_NET.gateway]);
    // The page released its lease at the end (DHCPRELEASE through the link).
    const row = (): string | undefined => gw.dhcp.leases(gw.runner.now()).find((l) => Stack.format(l.address) === r.lease?.address)?.state;
    await until('the page\'s lease released', 10_000, () => row() === 'released');
    assert.equal(r.lookup?.address, BROWSER_GATEWAY_NET.gateway);

    // TCP echo: every size back, byte for byte.
    assert.deepEqual(r.echo.map((e) => [e.bytes, e.received, e.equal]), ECHO_SIZES.map((n) => [n, n, true]));
    for (const e of r.echo) t.diagnostic(`echo ${e.bytes} B in ${e.ms.toFixed(0)} ms: ${(e.bytesPerSecond / 1024).toFixed(0)} KiB/s each way`);

    // HTTP through node:http on the gateway's userspace sockets.
    const [hello, data, chunked] = r.http;
    assert.ok(hello !== undefined && data !== undefined && chunked !== undefined);
    assert.equal(hello.status, 200);
    assert.equal(hello.bodyText, HELLO_BODY);
    assert.match(hello.contentType, /^text\/plain/);
    assert.equal(data.status, 200);
    assert.equal(data.bodyBytes, DATA_BYTES);
    assert.equal(data.patternOk, true, `GET /data/${DATA_BYTES}: the body is the gateway's pattern (httpDataByte(1) = ${httpDataByte(1)})`);
    assert.equal(data.transferEncoding, '');
    assert.deepEqual([chunked.path, chunked.status, chunked.transferEncoding, chunked.bodyBytes, chunked.patternOk], [`/chunked/${DATA_BYTES}`, 200, 'chunked', DATA_BYTES, true]);
    t.diagnostic(`HTTP GET /data/${DATA_BYTES} in ${data.ms.toFixed(0)} ms, /chunked/${DATA_BYTES} in ${chunked.ms.toFixed(0)} ms`);
    assert.ok(gw.httpConnections >= 3, `the gateway's node:http server took ${gw.httpConnections} connections over the userspace stack`);
    assert.equal(r.link?.['rxMalformed'], 0);

    // Two pages at once: each on its own connection and switch port, each with its own lease
    // (the first page's released address may be one of them).
    const accepted = bridge.stats().accepted;
    const both = await Promise.all([1, 2].map(() => runPage(`${bridge?.origin}/?echo=65536&data=4096`)));
    for (const p of both) assert.ok(p.ok, `a concurrent page failed: ${p.error ?? JSON.stringify(p.steps.filter((x) => !x.ok))}`);
    const leases = both.map((p) => p.lease?.address);
    assert.equal(new Set(leases).size, 2, `two distinct leases: ${leases.join(', ')}`);
    assert.equal(bridge.stats().accepted, accepted + 2);
    t.diagnostic(`two concurrent pages: leases ${leases.join(', ')}, echoes ${both.map((p) => `${p.echo[0]?.ms.toFixed(0)} ms`).join(', ')}`);
    for (const p of both) {
      const l = p.link ?? {};
      t.diagnostic(`concurrent page: ${p.steps.map((x) => `${x.name} ${x.ms.toFixed(0)} ms`).join(', ')}; link rx ${l['rxFrames']} tx ${l['txFrames']} dropped ${l['dropped']}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await bridge?.close();
    await gw.close();
    rmSync(work, { recursive: true, force: true });
  }
});
