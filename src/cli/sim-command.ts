/**
 * `iotnet sim esp-at|quectel`: an AT module simulator on a new pty pair, its sockets carried by
 * the host stack. Prints the pty's device path (open it with any serial terminal, or point a
 * driver at it with serialport), then runs until SIGINT or SIGTERM, printing boots and a counter
 * summary on exit.
 */
import { randomInt } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { EspAtSim, type EspAp } from '../apps/sim/index.ts';
import { QuectelSim, type FaultRule, type QuectelModel } from '../apps/sim/index.ts';
import { createHostBackend } from '../backends/host/index.ts';
import { XorShiftRng } from '../base/rand.ts';
import { openPty } from '../runtime/pty.ts';
import { systemScheduler } from '../runtime/system-scheduler.ts';
import { Network } from '../socket/network.ts';
import { forEachOption } from './args.ts';
import { UsageError } from './usage-error.ts';

export const SIM_USAGE = `Usage: iotnet sim esp-at|quectel [options]

Runs an AT module simulator on a new pseudo-terminal and prints its device path;
its sockets go through the host stack. Stops on SIGINT or SIGTERM.

  esp-at    an Espressif ESP-AT WiFi module (AT+CWJAP, AT+CIPSTART, ...)
  quectel   a Quectel cellular modem (AT+QIACT, AT+QIOPEN, ...)

Options:
  --dialect D         esp-at: esp-at (ESP32, AT 2.2, default) or nonos (ESP8266, AT 1.7)
  --model M           quectel: BG96 (default), EC21 or BG95
  --baud N            the module's line rate at boot (default 115200)
  --ap SSID:PASSWORD  esp-at: an access point to offer (repeatable; default iotnet:iotnet-pass)
  --apn NAME          quectel: the APN stored in context 1 (default internet)
  --ip ADDR           the address the module reports (default: this host's first IPv4 address)
  --fault KIND=P      inject fault KIND with probability P per opportunity (repeatable), e.g.
                      garbage, split, busy, sendFail, urcStorm, reboot (see docs/at-modules.md)
  --seed N            seed of the fault injector (default random)
  -h, --help          this text`;

interface SimArgs {
  kind: 'esp-at' | 'quectel';
  dialect: 'esp-at' | 'nonos';
  model: QuectelModel;
  baud: number;
  aps: EspAp[];
  apn: string;
  ip: string | undefined;
  faults: Record<string, FaultRule>;
  seed: number;
  help: boolean;
}

function parseSimArgs(args: readonly string[]): SimArgs {
  const out: SimArgs = {
    kind: 'esp-at', dialect: 'esp-at', model: 'BG96', baud: 115200, aps: [], apn: 'internet', ip: undefined, faults: {},
    seed: randomInt(1, 2 ** 31), help: false,
  };
  let kind: string | undefined;
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '--dialect': {
        const v = value();
        if (v !== 'esp-at' && v !== 'nonos') throw new UsageError(`--dialect: 'esp-at' or 'nonos', got '${v}'`);
        out.dialect = v;
        break;
      }
      case '--model': {
        const v = value().toUpperCase();
        if (v !== 'BG96' && v !== 'EC21' && v !== 'BG95') throw new UsageError(`--model: BG96, EC21 or BG95, got '${v}'`);
        out.model = v;
        break;
      }
      case '--baud': {
        const v = value();
        if (!/^\d{3,7}$/.test(v)) throw new UsageError(`--baud: not a line rate: '${v}'`);
        out.baud = Number(v);
        break;
      }
      case '--ap': {
        const v = value();
        const colon = v.indexOf(':');
        const ssid = colon < 0 ? v : v.slice(0, colon);
        if (ssid.length < 1 || ssid.length > 32) throw new UsageError(`--ap: the SSID must have 1 to 32 characters: '${v}'`);
        const n = out.aps.length + 1;
        out.aps.push({ ssid, password: colon < 0 ? '' : v.slice(colon + 1), bssid: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`, rssi: -40 - 7 * n, channel: 1 + ((5 * n) % 13), ecn: colon < 0 ? 0 : 3 });
        break;
      }
      case '--apn':
        out.apn = value();
        break;
      case '--ip':
        out.ip = value();
        break;
      case '--fault': {
        const v = value();
        const m = /^([A-Za-z]+)=(0(?:\.\d+)?|1(?:\.0+)?)$/.exec(v);
        if (m === null) throw new UsageError(`--fault: KIND=PROBABILITY with a probability from 0 to 1, got '${v}'`);
        out.faults[m[1] as string] = { probability: Number(m[2]) };
        break;
      }
      case '--seed': {
        const v = value();
        if (!/^\d{1,9}$/.test(v)) throw new UsageError(`--seed: not a number: '${v}'`);
        out.seed = Number(v);
        break;
      }
      case '-h':
      case '--help':
        out.help = true;
        break;
      default:
        if (arg.startsWith('-') || kind !== undefined) throw new UsageError(`unknown option '${arg}'`);
        kind = arg;
    }
  });
  if (!out.help) {
    if (kind !== 'esp-at' && kind !== 'quectel') throw new UsageError(kind === undefined ? 'which module: esp-at or quectel?' : `unknown module '${kind}'`);
    out.kind = kind;
  }
  if (out.aps.length === 0) out.aps.push({ ssid: 'iotnet', password: 'iotnet-pass', bssid: '02:00:00:00:00:01', rssi: -47, channel: 6, ecn: 3 });
  return out;
}

/** This host's first non-internal IPv4 address (what the module reports as its own), else 127.0.0.1. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export async function runSim(args: readonly string[]): Promise<number> {
  const a = parseSimArgs(args);
  if (a.help) {
    console.log(SIM_USAGE);
    return 0;
  }
  const backend = createHostBackend();
  const network = new Network(backend);
  const pty = openPty();
  const ip = a.ip ?? hostAddress();
  const rng = new XorShiftRng(a.seed);
  const common = { stream: pty, scheduler: systemScheduler, network, rng, baudRate: a.baud, faults: a.faults };
  let describe: string;
  let stop: () => void;
  let stats: () => object;
  if (a.kind === 'esp-at') {
    const sim = new EspAtSim({ ...common, dialect: a.dialect, aps: a.aps, station: { ip, gateway: ip.replace(/\.\d+$/, '.1'), netmask: '255.255.255.0' } });
    sim.powerOn();
    describe = `ESP-AT (${a.dialect}), access points ${a.aps.map((p) => p.ssid).join(', ')}`;
    stop = () => sim.close();
    stats = () => sim.stats;
  } else {
    const sim = new QuectelSim({ ...common, model: a.model, apn: { name: a.apn }, pdpAddress: ip });
    sim.powerOn();
    describe = `Quectel ${a.model}, APN ${a.apn}`;
    stop = () => sim.close();
    stats = () => sim.stats;
  }
  const faultText = Object.keys(a.faults).length > 0 ? `, faults ${Object.entries(a.faults).map(([k, r]) => `${k}=${r.probability ?? 0}`).join(' ')} (seed ${a.seed})` : '';
  console.log(`iotnet sim: ${describe}, ${a.baud} baud, address ${ip}${faultText}`);
  console.log(`iotnet sim: device ${pty.path}`);
  console.log('iotnet sim: ready; SIGINT or SIGTERM stops');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`iotnet sim: ${signal}, stopping; counters ${JSON.stringify(stats())}`);
  stop();
  pty.close();
  await network.close();
  await backend.close();
  return 0;
}
