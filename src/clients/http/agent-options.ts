/**
 * Options of `IotnetHttpAgent` (and the pool part of `IotnetHttpsAgent`): those of
 * `http.Agent`, with the defaults of Node's global agent (connections kept alive, reused
 * last-in first-out, idle ones closed after 5 s), plus the TCP connect deadline.
 */
import type http from 'node:http';

/**
 * Options of `IotnetHttpAgent` (and the pool part of `IotnetHttpsAgent`): those of `http.Agent` with the defaults of
 * Node's global agent, plus the TCP connect deadline.
 */
export interface IotnetAgentOptions {
  /**
   * Keep connections open between requests and reuse them (default true, as Node's
   * global agent; `false` sends `Connection: close` and opens one connection per request).
   */
  readonly keepAlive?: boolean | undefined;
  /** TCP keep-alive is turned on for kept connections; the delay is the stack's (accepted for `http.Agent` compatibility). */
  readonly keepAliveMsecs?: number | undefined;
  /** Most connections per origin (default: no limit). */
  readonly maxSockets?: number | undefined;
  /** Most connections in all (default: no limit). */
  readonly maxTotalSockets?: number | undefined;
  /** Most idle connections kept per origin (default 256). */
  readonly maxFreeSockets?: number | undefined;
  /** Which idle connection is reused first (default `'lifo'`: the most recently used). */
  readonly scheduling?: 'fifo' | 'lifo' | undefined;
  /**
   * Idle timeout of a connection, in ms (default 5000 with `keepAlive`, none without): an
   * idle pooled connection is closed after it, and a request on a connection idle that
   * long gets a `'timeout'` event (as `http.Agent`'s `timeout`; the server's
   * `Keep-Alive: timeout=N` shortens it).
   */
  readonly timeout?: number | undefined;
  /** Deadline of each TCP connect, name lookup included, in ms (default: the stack's own). */
  readonly connectTimeoutMs?: number | undefined;
}

/** Idle timeout of kept connections when `timeout` is not given (Node's global agent's). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5000;

/** The `http.Agent` constructor options for `options` (iotnet defaults applied). */
export function nodeAgentOptions(options: IotnetAgentOptions): http.AgentOptions {
  const keepAlive = options.keepAlive ?? true;
  const out: http.AgentOptions = { keepAlive, scheduling: options.scheduling ?? 'lifo' };
  if (options.keepAliveMsecs !== undefined) out.keepAliveMsecs = options.keepAliveMsecs;
  if (options.maxSockets !== undefined) out.maxSockets = options.maxSockets;
  if (options.maxTotalSockets !== undefined) out.maxTotalSockets = options.maxTotalSockets;
  if (options.maxFreeSockets !== undefined) out.maxFreeSockets = options.maxFreeSockets;
  const timeout = options.timeout ?? (keepAlive ? DEFAULT_IDLE_TIMEOUT_MS : undefined);
  if (timeout !== undefined) out.timeout = timeout;
  return out;
}
