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
import { DEMO_USAGE, runDemo } from './demo-command.ts';
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
