/**
 * `HttpResponse`: what `httpRequest` resolves with: status, headers and the whole body
 * as bytes, read once the response ended.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The parts of a response `HttpResponse` is made of. */
export interface HttpResponseInit {
  /** The URL requested. */
  readonly url: string;
  /** The status code. */
  readonly status: number;
  /** The status text (`OK`, `Not Found`, ...). */
  readonly statusText: string;
  /** `1.1` or `1.0`. */
  readonly httpVersion: string;
  /** Headers as `node:http` parsed them (lower-case names). */
  readonly headers: IncomingHttpHeaders;
  /** Headers as received: name, value, name, value, ... */
  readonly rawHeaders: readonly string[];
  /** The whole body. */
  readonly body: Uint8Array;
  /** The request went over a kept-alive connection of the agent. */
  readonly reusedConnection: boolean;
}

/** A complete HTTP response. */
export class HttpResponse {
  /** The URL requested. */
  readonly url: string;
  /** Status code (`200`, `404`, ...). */
  readonly status: number;
  /** Reason phrase as the server sent it (`'OK'`). */
  readonly statusText: string;
  /** `'1.1'` or `'1.0'`. */
  readonly httpVersion: string;
  /** Headers with lower-case names, as `node:http` gives them (repeated ones joined or in arrays). */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** Names and values as received, alternating. */
  readonly rawHeaders: readonly string[];
  /** The body (decoded from chunked transfer encoding; not decompressed). */
  readonly body: Uint8Array;
  /** True when the request went over a connection kept from an earlier request (keep-alive). */
  readonly reusedConnection: boolean;

  constructor(init: HttpResponseInit) {
    this.url = init.url;
    this.status = init.status;
    this.statusText = init.statusText;
    this.httpVersion = init.httpVersion;
    this.headers = init.headers;
    this.rawHeaders = init.rawHeaders;
    this.body = init.body;
    this.reusedConnection = init.reusedConnection;
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  /** The body as text (UTF-8 unless `encoding` says otherwise). */
  text(encoding = 'utf-8'): string {
    return new TextDecoder(encoding).decode(this.body);
  }

  /** The body parsed as JSON (throws `SyntaxError` when it is not). */
  json(): unknown {
    return JSON.parse(this.text()) as unknown;
  }
}
