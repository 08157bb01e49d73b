/**
 * The browser stack test page: a userspace `Stack` in this page over a `WebSocketLink` to the
 * ws-bridge (src/apps/ws-bridge/) that served it. It gets an address by DHCP from the gateway
 * stack, resolves `gateway.browser.test` through the gateway's DNS server, echoes random bytes
 * through the gateway's echo service (port 7) and GETs `/hello`, `/data/N` and `/chunked/N` (the
 * chunked transfer coding) from the gateway's
 * `node:http` server (port 80), all over our stacks at both ends, and releases its lease at the
 * end. Results go to
 * `window.iotnetStackPage` (see result.ts) and onto the page.
 *
 * Query parameters: `ws` (WebSocket URL; default `ws://<this host>/link`), `echo` (comma-separated
 * echo sizes in bytes; default 65536), `data` (N of the `/data/N` and `/chunked/N` GETs; default 262144).
 */
import {
  CryptoRng,
  Dhcp4Client,
  Network,
  Stack,
  WebSocketLink,
  createBrowserRunner,
  createUserspaceBackend,
  type Dhcp4Lease,
  type TcpSocket,
} from '../../src/browser.ts';
import { httpGet } from './http-get.ts';
import type { StackPageEcho, StackPageHttp, StackPageResult, StackPageStep } from './result.ts';

declare global {
  interface Window {
    iotnetStackPage?: StackPageResult;
  }
}

const GATEWAY_NAME = 'gateway.browser.test';
const ECHO_PORT = 7; // BROWSER_GATEWAY_NET.echoPort
const HTTP_PORT = 80;

const params = new URLSearchParams(location.search);
const wsUrl = params.get('ws') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/link`;
const echoSizes = (params.get('echo') ?? '65536').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const dataBytes = Number(params.get('data') ?? '262144');

const steps: StackPageStep[] = [];
const echoes: StackPageEcho[] = [];
const gets: StackPageHttp[] = [];
let lease: StackPageResult['lease'];
let lookup: StackPageResult['lookup'];
let link: WebSocketLink | undefined;

const logEl = document.getElementById('log');
const statusEl = document.getElementById('status');

function log(line: string): void {
  if (logEl !== null) logEl.textContent += `${line}\n`;
}

function publish(done: boolean, error: string | undefined): void {
  window.iotnetStackPage = {
    done,
    ok: done && error === undefined && steps.every((s) => s.ok),
    error,
    steps: [...steps],
    userAgent: navigator.userAgent,
    lease,
    lookup,
    echo: [...echoes],
    http: [...gets],
    link: link !== undefined ? { ...link.stats() } : undefined,
  };
}

async function step<T>(name: string, fn: () => Promise<T>, detail: (v: T) => string): Promise<T> {
  const t0 = performance.now();
  try {
    const v = await fn();
    const ms = performance.now() - t0;
    const s = { name, ok: true, ms, detail: detail(v) };
    steps.push(s);
    log(`ok   ${name} (${ms.toFixed(0)} ms): ${s.detail}`);
    publish(false, undefined);
    return v;
  } catch (e) {
    const ms = performance.now() - t0;
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    steps.push({ name, ok: false, ms, detail: text });
    log(`FAIL ${name} (${ms.toFixed(0)} ms): ${text}`);
    throw e;
  }
}

function openSocket(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`WebSocket ${url}: not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      resolve(ws);
    }, { once: true });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket ${url}: connection failed`));
    }, { once: true });
  });
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  return out;
}

/** Writes `data` in pieces while reading the echo; resolves with what came back. */
async function echoThrough(socket: TcpSocket, data: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  const got = new Uint8Array(data.length);
  let received = 0;
  const writer = (async () => {
    for (let off = 0; off < data.length; off += 16384) await socket.write(data.subarray(off, Math.min(data.length, off + 16384)), { signal });
  })();
  while (received < data.length) {
    const chunk = await socket.read({ signal });
    if (chunk === null) throw new Error(`echo ended after ${received} of ${data.length} bytes`);
    if (received + chunk.length > data.length) throw new Error(`echo returned more bytes than sent (${received + chunk.length} > ${data.length})`);
    got.set(chunk, received);
    received += chunk.length;
  }
  await writer;
  return got;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function run(): Promise<void> {
  const f = Stack.format;
  const ws = await step('WebSocket', () => openSocket(wsUrl, 10_000), () => `open to ${wsUrl}`);
  const rng = new CryptoRng();
  const stack = new Stack({ rng, name: 'page' });
  link = new WebSocketLink(ws);
  const ifIndex = stack.addInterface(link, { name: 'ws0' });
  const runner = createBrowserRunner(stack);
  const backend = createUserspaceBackend(stack, runner, { name: 'userspace:page', rng, connectTimeoutMs: 10_000 });
  const net = new Network(backend, { scheduler: runner.scheduler, rng });

  // RFC 5227 probing shortened (as the embedded demo does): same probe count, ms apart.
  const dhcp = new Dhcp4Client(stack, { ifIndex, hostname: 'browser-page', timing: { probeWaitMs: 10, probeNum: 3, probeMinMs: 20, probeMaxMs: 40, announceWaitMs: 50 } });
  const l = await step('DHCP lease', () => new Promise<Dhcp4Lease>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no lease within 20 s (state ${dhcp.state})`)), 20_000);
    dhcp.on((e) => {
      if (e.type !== 'bound') return;
      clearTimeout(timer);
      resolve(e.lease);
    });
    dhcp.start(runner.now());
  }), (v) => `${f(v.address)}/${v.prefixLen} from ${f(v.serverId)}, router ${v.gateway !== undefined ? f(v.gateway) : 'none'}, DNS ${v.dnsServers.map(f).join(', ')}`);
  lease = {
    address: f(l.address), prefixLen: l.prefixLen, gateway: l.gateway !== undefined ? f(l.gateway) : '', dns: l.dnsServers.map(f), ms: steps.at(-1)?.ms ?? 0,
  };
  backend.setDnsServers(l.dnsServers.map(f));

  const gatewayIp = await step('DNS lookup', () => net.lookup(GATEWAY_NAME, { family: 4 }), (a) => `${GATEWAY_NAME} -> ${a}`);
  lookup = { name: GATEWAY_NAME, address: gatewayIp, ms: steps.at(-1)?.ms ?? 0 };

  for (const size of echoSizes) {
    const data = randomBytes(size);
    let got: Uint8Array = new Uint8Array(0);
    let ms = 0;
    await step(`TCP echo ${size} B`, async () => {
      const signal = AbortSignal.timeout(60_000);
      const socket = await net.connect({ host: gatewayIp, port: ECHO_PORT }, { signal });
      try {
        const t0 = performance.now();
        got = await echoThrough(socket, data, signal);
        ms = performance.now() - t0;
      } finally {
        await socket.close().catch(() => {});
      }
      if (!equalBytes(got, data)) throw new Error(`echoed bytes differ from those sent (${got.length} of ${size} received)`);
    }, () => `${size} bytes back and equal in ${ms.toFixed(0)} ms (${(size / 1024 / (ms / 1000)).toFixed(0)} KiB/s each way)`);
    echoes.push({ bytes: size, received: got.length, equal: equalBytes(got, data), ms, bytesPerSecond: size / (ms / 1000) });
  }

  for (const path of ['/hello', `/data/${dataBytes}`, `/chunked/${dataBytes}`]) {
    const t0 = performance.now();
    const r = await step(`HTTP GET ${path}`, () => httpGet(net, gatewayIp, HTTP_PORT, path), (v) => `${v.status} ${v.reason}, ${v.body.length} bytes (${v.headers.get('content-type') ?? 'no type'})`);
    const type = r.headers.get('content-type') ?? '';
    let patternOk: boolean | undefined;
    if (path !== '/hello') {
      patternOk = r.body.length === dataBytes;
      for (let i = 0; patternOk && i < r.body.length; i++) patternOk = r.body[i] === ((i * 31 + 7) & 0xff);
    }
    gets.push({
      path, status: r.status, contentType: type, transferEncoding: r.headers.get('transfer-encoding') ?? '', bodyBytes: r.body.length, ms: performance.now() - t0, patternOk,
      bodyText: type.startsWith('text/') ? new TextDecoder().decode(r.body) : undefined,
    });
  }

  await net.close();
  await backend.close();
  // Give the address back (RFC 2131 DHCPRELEASE), and poll once so the message is sent
  // (the WebSocket sends it before its close frame).
  dhcp.stop(runner.now(), { release: true });
  runner.pollNow();
  runner.close();
  stack.close();
  link.close();
}

publish(false, undefined);
run().then(
  () => {
    publish(true, undefined);
    if (statusEl !== null) {
      statusEl.textContent = 'all steps passed';
      statusEl.className = 'ok';
    }
  },
  (e: unknown) => {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    publish(true, text);
    if (statusEl !== null) {
      statusEl.textContent = `failed: ${text}`;
      statusEl.className = 'fail';
    }
  },
);
