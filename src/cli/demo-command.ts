/**
 * `iotnet demo`: the demo on the embedded virtual network (default) or the host stack.
 */
import type { DemoResult, DemoStep } from '../apps/demo/client-steps.ts';
import { runEmbeddedDemo } from '../apps/demo/embedded-demo.ts';
import { runHostDemo } from '../apps/demo/host-demo.ts';
import { UsageError } from './usage-error.ts';

export const DEMO_USAGE = `Usage: iotnet demo [options]

Runs the demo: a client talking to the reference test server through the IoT Socket
API (iotnet/iot-socket) and through the idiomatic API with its Node Duplex adapter.
Exits 0 when every step succeeded.

  --stack embedded (default): an in-process virtual network, in real time; no root,
      nothing to install. A gateway (userspace stack, 192.168.7.1/24) runs a DHCP
      server, a DNS server (zone iot.test) and the test server; a device (another
      userspace stack on the same virtual switch) gets its address by DHCP, resolves
      sockserver.iot.test through DNS and runs the session.
  --stack host: the host OS stack, test server and client on loopback.

Options:
  --stack S         embedded (default) or host
  --port-offset K   ports of the test server: upstream ports + K (default: 0 on the
                    embedded network, a free random offset on the host stack)
  -h, --help        this help`;

export async function runDemo(args: readonly string[]): Promise<number> {
  let portOffset: number | undefined;
  let stack: 'embedded' | 'host' = 'embedded';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const a = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : args[++i]);
    if (a === '-h' || a === '--help') {
      console.log(DEMO_USAGE);
      return 0;
    }
    if (a === '--port-offset') {
      const v = value();
      if (v === undefined || !/^\d+$/.test(v) || Number(v) > 60000) throw new UsageError(`--port-offset needs a number 0..60000, got '${v ?? ''}'`);
      portOffset = Number(v);
      continue;
    }
    if (a === '--stack') {
      const v = value();
      if (v !== 'embedded' && v !== 'host') throw new UsageError(`--stack needs 'embedded' or 'host', got '${v ?? ''}'`);
      stack = v;
      continue;
    }
    throw new UsageError(`unknown option '${arg}'`);
  }
  const report = (s: DemoStep): void => console.log(`  ${s.ok ? '\u2714' : '\u2718'} ${s.title.padEnd(52)} ${s.detail}`);
  const t0 = performance.now();
  let result: DemoResult;
  if (stack === 'embedded') {
    console.log('iotnet demo: an embedded virtual network (two userspace stacks on a virtual switch, real time):');
    console.log('a device gets an address by DHCP, finds the test server by DNS and talks to it through both APIs\n');
    result = await runEmbeddedDemo({ report, ...(portOffset !== undefined ? { portOffset } : {}) });
  } else {
    console.log('iotnet demo: the host stack talking to the reference test server\n');
    result = await runHostDemo({ report, ...(portOffset !== undefined ? { portOffset } : {}) });
  }
  const failed = result.steps.filter((s) => !s.ok).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`\n${result.steps.length - failed} of ${result.steps.length} steps passed in ${secs} s${failed ? ` (${failed} failed)` : ''}`);
  return result.ok ? 0 : 1;
}
