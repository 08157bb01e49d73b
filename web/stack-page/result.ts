/** What the stack page reports on `window.iotnetStackPage` (read by test/e2e/browser-stack.test.ts). */

export interface StackPageStep {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly detail: string;
}

export interface StackPageEcho {
  readonly bytes: number;
  readonly received: number;
  readonly equal: boolean;
  readonly ms: number;
  /** Payload bytes per second, one way (sent and echoed at the same time). */
  readonly bytesPerSecond: number;
}

export interface StackPageHttp {
  readonly path: string;
  readonly status: number;
  readonly contentType: string;
  /** The Transfer-Encoding header ('' when none). */
  readonly transferEncoding: string;
  readonly bodyBytes: number;
  /** The body as text (only for text responses). */
  readonly bodyText: string | undefined;
  /** `GET /data/N`, `GET /chunked/N`: whether every byte matched the gateway's pattern. */
  readonly patternOk: boolean | undefined;
  readonly ms: number;
}

export interface StackPageResult {
  /** True once the page has finished (successfully or not). */
  readonly done: boolean;
  /** True when every step succeeded. */
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly steps: readonly StackPageStep[];
  readonly userAgent: string;
  readonly lease: { readonly address: string; readonly prefixLen: number; readonly gateway: string; readonly dns: readonly string[]; readonly ms: number } | undefined;
  readonly lookup: { readonly name: string; readonly address: string; readonly ms: number } | undefined;
  readonly echo: readonly StackPageEcho[];
  readonly http: readonly StackPageHttp[];
  /** The page's WebSocket link counters at the end. */
  readonly link: Readonly<Record<string, number>> | undefined;
}
