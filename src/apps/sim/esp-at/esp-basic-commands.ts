/**
 * Basic ESP-AT commands (reference §1.2, §1.4): `AT`, `ATE0`/`ATE1`, `AT+RST`, `AT+RESTORE`,
 * `AT+GMR`, `AT+CMD?`, `AT+SYSMSG`, `AT+SYSLOG`, `AT+SYSSTORE`, `AT+UART_CUR`/`_DEF`.
 */
import type { EspAtSim } from './esp-at-sim.ts';
import { ERR, intParam, type EspCommand, type EspCommandEntry } from './esp-command.ts';

function onOff(sim: EspAtSim, cmd: EspCommand, name: string, get: () => number, set: (v: number) => void, max = 1): void {
  if (cmd.form === 'query') return sim.reply([`+${name}:${get()}`]);
  if (cmd.form === 'test') return sim.reply([`+${name}:(0-${max})`]);
  const v = intParam(cmd, 0, 0, max);
  if (cmd.form !== 'set' || v === undefined || cmd.params.length !== 1) return sim.error(ERR.paramInvalid);
  set(v);
  sim.ok();
}

async function restart(sim: EspAtSim, reason: 'rst' | 'restore'): Promise<void> {
  sim.ok();
  const gen = sim.generation;
  await sim.port.flushed();
  if (gen === sim.generation) sim.reboot(reason);
}

function uart(sim: EspAtSim, cmd: EspCommand): void | Promise<void> {
  const persist = cmd.suffix === '_DEF';
  const name = `UART${cmd.suffix}`;
  if (cmd.form === 'query') {
    const u = persist ? sim.uartDef : sim.uart;
    return sim.reply([`+${name}:${u.baud},${u.data},${u.stop},${u.parity},${u.flow}`]);
  }
  if (cmd.form !== 'set' || cmd.params.length !== 5) return sim.error(ERR.paramCount);
  const maxBaud = sim.dialect.name === 'nonos' ? 4_608_000 : 5_000_000;
  const baud = intParam(cmd, 0, sim.dialect.name === 'nonos' ? 110 : 80, maxBaud);
  const data = intParam(cmd, 1, 5, 8);
  const stop = intParam(cmd, 2, 1, 3);
  const parity = intParam(cmd, 3, 0, 2);
  const flow = intParam(cmd, 4, 0, 3);
  if (baud === undefined || data === undefined || stop === undefined || parity === undefined || flow === undefined) {
    return sim.error(ERR.paramInvalid);
  }
  const u = { baud, data, stop, parity, flow };
  sim.uart = u;
  if (persist) sim.uartDef = { ...u };
  sim.ok();
  sim.flowControl = flow !== 0;
  return sim.port.changeBaudRate(baud);
}

/** The basic commands by name. */
export const BASIC_COMMANDS: Readonly<Record<string, EspCommandEntry>> = {
  '': { forms: 'e', run: (sim, cmd) => (cmd.form === 'exec' ? sim.ok() : sim.error(ERR.unsupported)) },
  E0: {
    forms: 'e',
    run: (sim) => {
      sim.port.setEcho(false);
      sim.ok();
    },
  },
  E1: {
    forms: 'e',
    run: (sim) => {
      sim.port.setEcho(true);
      sim.ok();
    },
  },
  RST: { forms: 'te', run: (sim, cmd) => (cmd.form === 'exec' ? restart(sim, 'rst') : cmd.form === 'test' ? sim.ok() : sim.error(ERR.unsupported)) },
  RESTORE: {
    forms: 'te',
    run: (sim, cmd) => {
      if (cmd.form !== 'exec') return cmd.form === 'test' ? sim.ok() : sim.error(ERR.unsupported);
      sim.wifi.restore();
      sim.sysstore = true;
      sim.uartDef = { baud: 115_200, data: 8, stop: 1, parity: 0, flow: 0 };
      return restart(sim, 'restore');
    },
  },
  GMR: { forms: 'te', run: (sim, cmd) => (cmd.form === 'exec' ? sim.reply(sim.dialect.gmr) : cmd.form === 'test' ? sim.ok() : sim.error(ERR.unsupported)) },
  CMD: {
    forms: 'q',
    espAtOnly: true,
    run: (sim, cmd) => {
      if (cmd.form !== 'query') return sim.error(ERR.unsupported);
      const lines = sim.commandNames().map(({ name, entry }, i) => {
        const f = (c: string): number => (entry.forms.includes(c) ? 1 : 0);
        const text = name === '' || /^[A-Z]\d$/.test(name) ? `AT${name}` : `AT+${name}`;
        return `+CMD:${i},"${text}",${f('t')},${f('q')},${f('s')},${f('e')}`;
      });
      return sim.reply(lines);
    },
  },
  SYSMSG: { forms: 'tqs', espAtOnly: true, run: (sim, cmd) => onOff(sim, cmd, 'SYSMSG', () => sim.sysmsg, (v) => (sim.sysmsg = v), 7) },
  SYSLOG: { forms: 'tqs', espAtOnly: true, run: (sim, cmd) => onOff(sim, cmd, 'SYSLOG', () => (sim.syslog ? 1 : 0), (v) => (sim.syslog = v === 1)) },
  SYSSTORE: { forms: 'tqs', espAtOnly: true, run: (sim, cmd) => onOff(sim, cmd, 'SYSSTORE', () => (sim.sysstore ? 1 : 0), (v) => (sim.sysstore = v === 1)) },
  UART: { forms: 'tqs', curDef: true, suffixOnly: true, run: uart },
};
