/**
 * The `iotnet` command line: a small subcommand dispatcher (each command in its own file).
 *
 *   iotnet --help | --version
 *   iotnet demo [--scenario iot|sockets] [--ui] [--pcap-dir DIR] [--broker auto|aedes|mosquitto] [--duration S]
 *   iotnet sockserver [--port-offset K] [--host ADDR] [--no-ipv6] [--chargen-style sockserver|rfc864] [--verbose]
 *   iotnet sim esp-at|quectel [--dialect esp-at|nonos] [--model BG96|EC21|BG95] [--baud N] [--ap SSID:PW] [--fault KIND=P]
 *   iotnet tap IFNAME --ipv4 ADDR/LEN|dhcp [--ipv6 auto|ADDR/LEN] [--gateway ADDR] [--dns ADDR] [--serve sockserver] [--pcap FILE]
 *   iotnet ping HOST [--via host|embedded|tap:IF] [-c N] [-i S] [-s SIZE] [-W S] [-4|-6] [--port N]
 *   iotnet mqtt pub|sub --broker HOST[:PORT]|--url URL --topic T [--message M|--file F] [--qos Q] [--count N]
 *               [--tls --ca FILE --cert FILE --key FILE] [--via host|tap:IF|esp-at:PORT|quectel:PORT]
 *   iotnet pcap FILE [--json] [--top N]
 *   iotnet bench [--only NAME...] [--quick] [--json [FILE]]
 *
 * Exit codes: 0 success, 1 failure at run time, 2 usage error (unknown command or option,
 * a bad or missing value: the message and the command's usage go to stderr). Anything that
 * takes more than a second shows progress on stderr (a live line on a terminal, sparse
 * plain lines otherwise: see progress.ts).
 */
import { DEMO_USAGE, runDemo } from './demo-command.ts';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_USAGE, runBench } from './bench-command.ts';
import { describeError } from './describe-error.ts';
import { MQTT_USAGE, runMqtt } from './mqtt-command.ts';
import { PCAP_USAGE, runPcap } from './pcap-command.ts';
import { PING_USAGE, runPing } from './ping-command.ts';
import { runSim, SIM_USAGE } from './sim-command.ts';
import { runSockServer, SOCKSERVER_USAGE } from './sockserver-command.ts';
import { runTap, TAP_USAGE } from './tap-command.ts';
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
  ping: {
    summary: 'ICMP echo through our userspace stack (--via tap:IF or embedded), or TCP connect probes on the host stack',
    usage: PING_USAGE,
    run: runPing,
  },
  mqtt: {
    summary: 'MQTT publish or subscribe (pub|sub) via the host stack, a TAP, an ESP-AT or a Quectel module; TLS',
    usage: MQTT_USAGE,
    run: runMqtt,
  },
  pcap: {
    summary: 'summarise a pcap capture: link type, records, time span, bytes, protocols, top conversations, malformed',
    usage: PCAP_USAGE,
    run: runPcap,
  },
  bench: {
    summary: 'run the benchmarks of a source checkout (what npm run bench runs, or --only some groups)',
    usage: BENCH_USAGE,
    run: runBench,
  },
  demo: {
    summary: 'run the demo: an IoT deployment (gateway with DHCP, DNS, MQTT over TLS; Ethernet, WiFi with failover, cellular and 6LoWPAN devices) on an in-process network',
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

Options:
  -h, --help     this text
  -V, --version  the version

Run 'iotnet <command> --help' for the options of a command.
Exit codes: 0 success, 1 failure at run time, 2 usage error.`;
}

/** The package's version (package.json next to src/ or dist/). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
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
  if (name === '-V' || name === '--version' || name === 'version') {
    console.log(`iotnet ${version()}`);
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
