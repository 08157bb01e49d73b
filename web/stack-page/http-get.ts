/**
 * A minimal HTTP/1.1 client over a `Network` (a page has no `node:http`): one GET with
 * `Connection: close`, the response read to the end of the connection, then parsed (status line,
 * headers, a body by Content-Length, chunked transfer coding, or up to the end).
 */
import type { Network } from '../../src/browser.ts';
import { concatBytes } from '../../src/wire/bytes.ts';

export interface HttpResponse {
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased; repeated headers joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

export interface HttpGetOptions {
  timeoutMs?: number;
  /** Largest response accepted, head and body (default 16 MiB). */
  maxBytes?: number;
}

function indexOfCrlfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Decodes a chunked body (RFC 9112 §7.1); throws on a malformed one. */
function dechunk(b: Uint8Array): Uint8Array {
  const text = new TextDecoder('latin1');
  const parts: Uint8Array[] = [];
  let off = 0;
  for (;;) {
    let eol = off;
    while (eol + 1 < b.length && !(b[eol] === 13 && b[eol + 1] === 10)) eol++;
    if (eol + 1 >= b.length) throw new Error('chunked body: truncated chunk size line');
    const size = parseInt((text.decode(b.subarray(off, eol)).split(';')[0] ?? '').trim(), 16);
    if (!Number.isInteger(size) || size < 0) throw new Error('chunked body: bad chunk size');
    off = eol + 2;
    if (size === 0) return concatBytes(parts);
    if (off + size + 2 > b.length) throw new Error('chunked body: truncated chunk');
    parts.push(b.subarray(off, off + size));
    off += size + 2;
  }
}

/** GETs `path` from `host:port` over `net`. Rejects on a network error, a timeout or a malformed response. */
export async function httpGet(net: Network, host: string, port: number, path: string, opts: HttpGetOptions = {}): Promise<HttpResponse> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxBytes = opts.maxBytes ?? 16 << 20;
  const signal = AbortSignal.timeout(timeoutMs);
  const socket = await net.connect({ host, port }, { signal });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    await socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUser-Agent: iotnet-stack-page\r\nAccept: */*\r\nConnection: close\r\n\r\n`, { signal });
    for (;;) {
      const chunk = await socket.read({ signal });
      if (chunk === null) break;
      chunks.push(chunk);
      total += chunk.length;
      if (total > maxBytes) throw new Error(`response larger than ${maxBytes} bytes`);
    }
  } finally {
    await socket.close().catch(() => {});
  }
  const all = concatBytes(chunks);
  const headEnd = indexOfCrlfCrlf(all);
  if (headEnd < 0) throw new Error(`no end of the response head in ${total} bytes`);
  const lines = new TextDecoder('latin1').decode(all.subarray(0, headEnd)).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (m === null) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  let body = all.subarray(headEnd + 4);
  if ((headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
    body = dechunk(body);
  } else if (headers.has('content-length')) {
    const n = Number(headers.get('content-length'));
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad content-length ${headers.get('content-length')}`);
    if (body.length < n) throw new Error(`body truncated: ${body.length} of ${n} bytes`);
    body = body.subarray(0, n);
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers, body: body.slice() };
}
