/**
 * `CellularModuleInterface`: a Quectel modem used through its own IP stack (socket mode:
 * `createQuectel`, `AT+QIOPEN` and friends) as a network interface. Its `backend` is the module
 * socket backend; DNS goes through the module (`AT+QIDNSGIP`). The other way to use a modem is
 * `CellularInterface` (PPP dial-up into a userspace stack).
 *
 * `connect()`: the first time the full bring-up (`QuectelModem.start`: SIM, registration, PDP
 * context), afterwards the context is activated again; `global-up` with the context's address.
 * The context deactivated by the network, or a module reset, → `connecting` until the modem's own
 * recovery has the context back. `disconnect()` deactivates the context (`AT+QIDEACT`). The link
 * follows the network registration.
 */
import type { Quectel } from '../quectel/index.ts';
import type { ModuleBackend } from '../at/module-backend.ts';
import { InterfaceBase, NO_ADDRESSES, type InterfaceAddresses, type InterfaceKind } from './network-interface.ts';

/** Options of `CellularModuleInterface`. */
export interface CellularModuleInterfaceOptions {
  /** The parts `createQuectel` built. */
  readonly quectel: Quectel;
  /** Default `cell0`. */
  readonly name?: string;
}

export class CellularModuleInterface extends InterfaceBase {
  readonly name: string;
  readonly kind: InterfaceKind = 'cellular';
  readonly backend: ModuleBackend;
  private readonly q: Quectel;
  private readonly offs: (() => void)[];

  constructor(options: CellularModuleInterfaceOptions) {
    super();
    this.q = options.quectel;
    this.name = options.name ?? 'cell0';
    this.backend = this.q.backend;
    const m = this.q.modem;
    this.offs = [
      m.on('registration', () => this.setLink(m.registered, m.registered ? 'registered' : 'registration-lost')),
      m.on('pdp-up', () => {
        if (this.wanted) this.setStatus('global-up', 'pdp-active');
      }),
      m.on('pdp-down', (e) => {
        if (this.wanted && this.status !== 'disconnected') this.setStatus('connecting', e.reason);
      }),
      m.on('reset', (e) => {
        this.setLink(false, e.reason);
        if (this.wanted && this.status !== 'disconnected') this.setStatus('connecting', e.reason);
      }),
    ];
  }

  /** The modem's IMEI, once read. */
  get imei(): string | undefined {
    return this.q.modem.imei;
  }

  /** The PDP context's IPv4 address (prefix 32) while connected; `NO_ADDRESSES` otherwise. */
  get addresses(): InterfaceAddresses {
    const a = this.q.modem.address;
    if (a === undefined || this.status === 'disconnected') return NO_ADDRESSES;
    return { ...NO_ADDRESSES, ipv4: a, prefixLen: 32 };
  }

  protected async start(signal: AbortSignal): Promise<void> {
    const m = this.q.modem;
    this.setStatus('connecting', 'starting');
    const up = m.status === 'pdp-active' ? Promise.resolve() : m.reactivate();
    await new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      up.then(resolve, reject);
    });
    this.setLink(m.registered, 'registered');
    this.setStatus('global-up', 'pdp-active');
  }

  protected async stop(): Promise<void> {
    if (this.q.modem.address !== undefined) await this.q.modem.deactivate().catch(() => undefined);
  }

  protected override async dispose(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
  }
}
