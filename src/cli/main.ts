/**
 * The `iotnet` command line: a small subcommand dispatcher.
 *
 *   iotnet --help
 *   iotnet demo [--stack embedded|host] [--port-offset K]
 *   iotnet sockserver [--port-offset K] [--host ADDR] [--no-ipv6] [--chargen-style sockserver|rfc864] [--verbose]
 *   iotnet sim esp-at|quectel [--dialect esp-at|nonos] [--model BG96|EC21|BG95] [--baud N] [--ap SSID:PW] [--fault KIND=P]
 *   iotnet tap IFNAME --ipv4 ADDR/LEN [--gateway ADDR] [--dns ADDR] [--serve sockserver] [--port-offset K] [--pcap FILE]
 *
 * Exit codes: 0 success, 1 failure at run time, 2 usage error (unknown command or option).
 */
import type { DemoResult, DemoStep } from '../apps/demo/client-steps.ts';
import { runEmbeddedDemo } from '../apps/demo/embedded-demo.ts';
import { runHostDemo } from '../apps/demo/host-demo.ts';
import { startSockServer } from '../apps/sockserver/index.ts';
import type { SockServerOptions } from '../apps/sockserver/index.ts';
import { createHostBackend } from '../backends/host/index.ts';
import { SocketError } from '../base/socket-error.ts';
import { Network } from '../socket/network.ts';
import { runSim, SIM_USAGE } from './sim-command.ts';
import { runTap, TAP_USAGE } from './tap-command.ts';
import { forEachOption, portOffsetArg } from './args.ts';
import { UsageError } from './usage-error.ts';

/** Exit code for usage errors. */
const USAGE = 2;


interface Command {
  /** One line for `iotnet --help`. */
  readonly summary: string;
  /** Full usage text for `iotnet <command> --help`. */
  readonly usage: string;
  /** Runs the command; resolves with the exit code. */
  run(args: readonly string[]): Promise<number>;
}

// ---- sockserver ---------------------------------------------------------------------

const SOCKSERVER_USAGE = `Usage: iotnet sockserver [options]

Runs the reference test server (SockServer v1.1 services: echo 7, discard 9,
daytime 13, chargen 19, time 37, TCP and UDP; control 5000; RFC 864 chargen 5019;
5001 stays unused (refused) and 5002 is the black-hole port) on the host stack,
until SIGINT or SIGTERM.

Options:
  --port-offset K       add K to every port (default 0; ports below 1024 need root)
  --host ADDR           listen on ADDR only (default 0.0.0.0 and ::)
  --no-ipv6             IPv4 only
  --chargen-style S     pattern of the chargen port: sockserver (default) or rfc864
  --verbose             report failures inside sessions on stderr
  -h, --help            this text`;

interface SockServerArgs {
  options: SockServerOptions;
  verbose: boolean;
  help: boolean;
}

function parseSockServerArgs(args: readonly string[]): SockServerArgs {
  const options: SockServerOptions = {};
  let verbose = false;
  let help = false;
  forEachOption(args, (name, value, arg) => {
    switch (name) {
      case '--port-offset':
        options.portOffset = portOffsetArg(value());
        break;
      case '--host':
        options.host = value();
        break;
      case '--no-ipv6':
        options.ipv6 = false;
        break;
      case '--chargen-style': {
        const style = value();
        if (style !== 'sockserver' && style !== 'rfc864') throw new UsageError(`--chargen-style: unknown style '${style}'`);
        options.chargenStyle = style;
        break;
      }
      case '--verbose':
        verbose = true;
        break;
      case '-h':
      case '--help':
        help = true;
        break;
      default:
        throw new UsageError(`unknown option '${arg}'`);
    }
  });
  return { options, verbose, help };
}

function describeError(e: unknown): string {
  if (e instanceof SocketError) {
    const cause = (e.cause as { code?: unknown } | undefined)?.code;
    return cause !== undefined ? `${e.message} (${String(cause)})` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

async function runSockServer(args: readonly string[]): Promise<number> {
  const parsed = parseSockServerArgs(args);
  if (parsed.help) {
    console.log(SOCKSERVER_USAGE);
    return 0;
  }
  const backend = createHostBackend();
  const network = new Network(backend);
  const options: SockServerOptions = {
    ...parsed.options,
    onError: parsed.verbose ? (e, service) => console.error(`sockserver: ${service}: ${describeError(e)}`) : undefined,
  };
  let server;
  try {
    server = await startSockServer(network, options);
  } catch (e) {
    console.error(`sockserver: cannot start: ${describeError(e)}`);
    if ((options.portOffset ?? 0) === 0) console.error('sockserver: ports below 1024 need root; try --port-offset 20000');
    await network.close();
    await backend.close();
    return 1;
  }
  for (const l of server.listeners) console.log(`sockserver: ${l.service} ${l.protocol} ${l.address.toString()}`);
  if (parsed.options.host === undefined && parsed.options.ipv6 !== false && !server.ipv6) {
    console.log(`sockserver: IPv6 not available (${describeError(server.ipv6Error)})`);
  }
  console.log(`sockserver: refusing port ${server.ports.refusing}, black-hole port ${server.ports.blackHole} (needs a SYN drop filter)`);
  console.log('sockserver: ready; SIGINT or SIGTERM stops');

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`sockserver: ${signal}, shutting down`);
  await server.close();
  await network.close();
  await backend.close();
  console.log('sockserver: stopped');
  return 0;
}

// ---- demo ---------------------------------------------------------------------------

const DEMO_USAGE = `Usage: iotnet demo [options]

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

async function runDemo(args: readonly string[]): Promise<number> {
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

// ---- dispatcher ---------------------------------------------------------------------

const COMMANDS: Readonly<Record<string, Command>> = {
  sockserver: {
    summary: 'run the reference test server (echo, discard, daytime, chargen, time, control)',
    usage: SOCKSERVER_USAGE,
    run: runSockServer,
  },
  tap: {
    summary: 'attach a userspace stack to a TAP interface (optionally serving the test server)',
    usage: TAP_USAGE,
    run: (args) => runTap(args, describeError),
  },
  sim: {
    summary: 'run an AT module simulator (ESP-AT WiFi or Quectel cellular) on a new pty, printing its device path',
    usage: SIM_USAGE,
    run: runSim,
  },
  demo: {
    summary: 'run the demo: DHCP, DNS and the test server on an embedded virtual network (or --stack host), through both APIs',
    usage: DEMO_USAGE,
    run: runDemo,
  },
};

function mainUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: iotnet <command> [options]

Commands:
${lines.join('\n')}

Run 'iotnet <command> --help' for the options of a command.`;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(mainUsage());
    return USAGE;
  }
  if (name === '-h' || name === '--help' || name === 'help') {
    console.log(mainUsage());
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`iotnet: unknown command '${name}'\n\n${mainUsage()}`);
    return USAGE;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`iotnet ${name}: ${e.message}\n\n${command.usage}`);
      return USAGE;
    }
    console.error(`iotnet ${name}: ${describeError(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
