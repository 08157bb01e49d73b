/**
 * Two userspace stacks joined by PPP over a pair of byte streams (an in-memory pipe, a pty pair):
 * a dialling client (credentials, asks for an address and DNS) and an answering server
 * (authenticates, assigns 10.64.0.2, gives DNS 10.64.0.1), each with a `PppLink`, `attachPpp`, a
 * `StackRunner`, a userspace backend and a `Network`. Works on virtual or real time.
 */
import { createUserspaceBackend } from '../../src/backends/userspace/index.ts';
import type { UserspaceBackend } from '../../src/backends/userspace/userspace-backend.ts';
import { XorShiftRng } from '../../src/base/rand.ts';
import type { Scheduler } from '../../src/base/time.ts';
import type { ByteStream } from '../../src/link/byte-stream.ts';
import { attachPpp, type PppAttachment } from '../../src/link/ppp-attach.ts';
import { PppLink, type PppLinkOptions } from '../../src/link/ppp-link.ts';
import { StackRunner } from '../../src/runtime/stack-runner.ts';
import { Network } from '../../src/socket/network.ts';
import { Stack } from '../../src/stack/stack.ts';
import type { PppEvent } from '../../src/stack/ppp/ppp-session.ts';

export const PPP_SERVER_IP = '10.64.0.1';
export const PPP_CLIENT_IP = '10.64.0.2';
export const PPP_USER = 'iot';
export const PPP_PASSWORD = 's3cret';

export interface PppEnd {
  readonly link: PppLink;
  readonly stack: Stack;
  readonly runner: StackRunner;
  readonly attachment: PppAttachment;
  readonly backend: UserspaceBackend;
  readonly net: Network;
  readonly events: PppEvent[];
}

export interface PppNetOptions {
  scheduler: Scheduler;
  /** [client end, server end]. */
  streams: [ByteStream, ByteStream];
  /** Authentication the server demands (default chap). */
  auth?: 'pap' | 'chap' | 'none';
  /** The password the client gives (default the right one). */
  password?: string;
  seed?: number;
  client?: Partial<PppLinkOptions>;
  server?: Partial<PppLinkOptions>;
}

export interface PppNet {
  readonly client: PppEnd;
  readonly server: PppEnd;
  /** Resolves once both sides have IPCP (and IPV6CP unless off) up; rejects when either goes down first. */
  readonly up: Promise<void>;
  close(): Promise<void>;
}

function end(scheduler: Scheduler, stream: ByteStream, options: PppLinkOptions, seed: number, name: string, defaultRoute: boolean): PppEnd {
  const events: PppEvent[] = [];
  const link = new PppLink(stream, options);
  link.on((e) => events.push(e));
  const stack = new Stack({ rng: new XorShiftRng(seed), name });
  const attachment = attachPpp(stack, link, { defaultRoute, routerSolicitations: defaultRoute ? 1 : 0 });
  const runner = new StackRunner(stack, { scheduler });
  const backend = createUserspaceBackend(stack, runner, { rng: new XorShiftRng(seed + 1), dns: { servers: [] } });
  const net = new Network(backend, { scheduler, rng: new XorShiftRng(seed + 2) });
  return { link, stack, runner, attachment, backend, net, events };
}

function whenUp(e: PppEnd, ipv6: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let v4 = false;
    let v6 = !ipv6;
    const off = e.link.on((ev) => {
      if (ev.type === 'ipcp-up') v4 = true;
      if (ev.type === 'ipv6cp-up') v6 = true;
      if (ev.type === 'down') {
        off();
        reject(new Error(`PPP went down: ${ev.reason}`));
        return;
      }
      if (v4 && v6) {
        off();
        resolve();
      }
    });
  });
}

export function pppNet(o: PppNetOptions): PppNet {
  const seed = o.seed ?? 1;
  const auth = o.auth ?? 'chap';
  const secrets = (user: string): string | undefined => (user === PPP_USER ? PPP_PASSWORD : undefined);
  const clientOpts: PppLinkOptions = {
    scheduler: o.scheduler,
    rng: new XorShiftRng(seed * 10 + 1),
    credentials: { user: PPP_USER, password: o.password ?? PPP_PASSWORD },
    ...o.client,
  };
  const serverOpts: PppLinkOptions = {
    scheduler: o.scheduler,
    rng: new XorShiftRng(seed * 10 + 2),
    ipv4: { localAddress: PPP_SERVER_IP, peerAddress: PPP_CLIENT_IP, dnsServers: [PPP_SERVER_IP] },
    ...(auth !== 'none' ? { authenticate: { secrets, protocols: [auth], name: 'gateway' } } : {}),
    ...o.server,
  };
  const client = end(o.scheduler, o.streams[0], clientOpts, seed * 100 + 10, 'ppp-client', true);
  const server = end(o.scheduler, o.streams[1], serverOpts, seed * 100 + 20, 'ppp-server', false);
  const ipv6 = clientOpts.ipv6 !== false && serverOpts.ipv6 !== false;
  const up = Promise.all([whenUp(client, ipv6), whenUp(server, ipv6)]).then(() => undefined);
  up.catch(() => undefined);
  server.link.open();
  client.link.open();
  return {
    client,
    server,
    up,
    async close() {
      await Promise.all([client.net.close(), server.net.close()]);
      for (const e of [client, server]) {
        e.runner.close();
        e.link.close();
      }
    },
  };
}
