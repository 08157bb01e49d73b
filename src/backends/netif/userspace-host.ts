/**
 * The userspace stack an interface owns: a `Stack`, its `StackRunner` on the interface's scheduler
 * and a userspace backend whose DNS resolver starts with no servers (the interface gives them).
 * One per interface, so each interface's sockets, routes and DNS are its own (multihoming).
 */
import type { Rng } from '../../base/rand.ts';
import type { Scheduler } from '../../base/time.ts';
import { StackRunner } from '../../runtime/stack-runner.ts';
import { Stack, type StackOptions } from '../../stack/stack.ts';
import { createUserspaceBackend, type UserspaceBackend, type UserspaceBackendOptions } from '../userspace/userspace-backend.ts';

/** A userspace stack with its runner and socket backend, as the interfaces build them. */
export interface UserspaceHost {
  /** The userspace stack. */
  readonly stack: Stack;
  /** The runner that drives it. */
  readonly runner: StackRunner;
  /** The socket backend over it. */
  readonly backend: UserspaceBackend;
  /** Closes the backend (its sockets), then the runner. */
  close(): Promise<void>;
}

/** Options of `userspaceHost`. */
export interface UserspaceHostOptions {
  /** The stack's name (the backend is `userspace:<name>`). */
  name: string;
  /** Clock of the runner. */
  scheduler: Scheduler;
  /** Randomness of the stack and backend. */
  rng: Rng;
  /** Further stack options. */
  stack?: Partial<Omit<StackOptions, 'rng' | 'name'>>;
  /** Further backend options (DNS resolver, hosts, limits). */
  backend?: Omit<UserspaceBackendOptions, 'rng'>;
}

/**
 * A `Stack` with a `StackRunner` on `o.scheduler` and a `UserspaceBackend` over it (no DNS servers until set;
 * backend name `userspace:<name>`).
 */
export function userspaceHost(o: UserspaceHostOptions): UserspaceHost {
  const stack = new Stack({ ...o.stack, rng: o.rng, name: o.name });
  const runner = new StackRunner(stack, { scheduler: o.scheduler });
  const backend = createUserspaceBackend(stack, runner, { dns: { servers: [] }, ...o.backend, rng: o.rng, name: o.backend?.name ?? `userspace:${o.name}` });
  return {
    stack, runner, backend,
    async close() {
      await backend.close();
      runner.close();
      stack.close();
    },
  };
}
