/**
 * V.250 and 3GPP TS 27.007 commands of the Quectel simulator (reference `at-modules.md` §2):
 * `AT`, `ATE`, `ATV`, `ATI`, `ATZ`, `AT&F`, identity (`+GMR`, `+CGMM`, `+CGSN`, …), `+CMEE`,
 * `+CPIN`, `+CSQ`, `+CESQ`, `+CREG`/`+CGREG`/`+CEREG`, `+COPS`, `+CFUN`, `+CGDCONT`, `+CGATT`,
 * `+CGACT`, `+CGPADDR`, `+CGEREP`, `+QPOWD`, `+IPR`. Data-call commands (`ATD`, `AT+CGDATA`, `ATO`,
 * `ATH`, `AT&D`, `ATS12`) are in `quectel-data-commands.ts`.
 */
import type { CommandHandler, QuectelContext } from './quectel-context.ts';
import { intField, strField, type ParsedCommand } from './quectel-command-line.ts';
import { cme, ERROR, info, OK, type Reply } from './quectel-format.ts';
import { MAX_CID, REG_KINDS, simCmeError, type RegKind } from './quectel-network-model.ts';
import { activateContext, deactivateContext } from './quectel-pdp.ts';

const PDP_TYPES: Readonly<Record<string, number>> = { IP: 1, IPV6: 2, IPV4V6: 3 };
const PDP_TYPE_NAMES = ['', 'IP', 'IPV6', 'IPV4V6'];

function flag(cmd: ParsedCommand, set: (on: boolean) => void): Reply {
  if (cmd.args !== '' && cmd.args !== '0' && cmd.args !== '1') return ERROR;
  set(cmd.args === '1');
  return OK;
}

function identity(pick: (ctx: QuectelContext) => string): CommandHandler {
  return (ctx, cmd) => (cmd.form === 'exec' ? info(pick(ctx)) : cmd.form === 'test' ? OK : ERROR);
}

function registration(kind: RegKind): CommandHandler {
  return (ctx, cmd) => {
    switch (cmd.form) {
      case 'read':
        return info(ctx.net.regRead(kind));
      case 'test':
        return info(`+${kind}: (0-2)`);
      case 'set': {
        const n = intField(cmd.fields[0], 0, 2);
        if (n === undefined || cmd.fields.length !== 1) return ERROR;
        ctx.net.regN[kind] = n;
        return OK;
      }
      default:
        return ERROR;
    }
  };
}

/** A command that needs the SIM unlocked: its CME error, else undefined. */
function simBlocked(ctx: QuectelContext): Reply | undefined {
  const code = simCmeError(ctx.net.simState);
  return code === undefined ? undefined : cme(code);
}

const cpin: CommandHandler = (ctx, cmd) => {
  const state = ctx.net.simState;
  if (cmd.form === 'test') return OK;
  if (cmd.form === 'read') {
    if (state === 'absent' || state === 'busy') return cme(state === 'absent' ? 10 : 14);
    return info(`+CPIN: ${state}`);
  }
  if (cmd.form !== 'set') return ERROR;
  const code = strField(cmd.fields[0]) ?? cmd.fields[0]?.text;
  const newPin = strField(cmd.fields[1]) ?? cmd.fields[1]?.text;
  if (code === undefined || code === '') return ERROR;
  const wasLocked = state === 'SIM PIN' || state === 'SIM PUK';
  const err = ctx.net.enterPin(code, newPin);
  if (err !== undefined) return cme(err);
  return {
    final: 'OK',
    after: () => {
      if (!wasLocked) return;
      ctx.urc('+CPIN: READY');
      ctx.urc('+QIND: SMS DONE');
      ctx.urc('+QIND: PB DONE');
      ctx.setFunctionality(ctx.net.cfun);
    },
  };
};

const cfun: CommandHandler = async (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+CFUN: ${ctx.net.cfun}`);
  if (cmd.form === 'test') return info('+CFUN: (0,1,4),(0-1)');
  if (cmd.form !== 'set') return ERROR;
  const level = cmd.fields[0]?.text === '' ? undefined : intField(cmd.fields[0], 0, 4);
  const rst = cmd.fields[1] === undefined ? 0 : intField(cmd.fields[1], 0, 1);
  if (level === undefined || (level !== 0 && level !== 1 && level !== 4) || rst === undefined) return ERROR;
  if (rst === 1) {
    if (level !== 1) return ERROR;
    return { final: 'OK', after: () => ctx.reboot() };
  }
  const epoch = ctx.epoch;
  await ctx.sleep(ctx.timing.cfunMs);
  if (epoch !== ctx.epoch) return { final: 'none' };
  ctx.setFunctionality(level);
  return OK;
};

const cgdcont: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+CGDCONT: (1-16),"IP",,,(0-2),(0-4)', '+CGDCONT: (1-16),"IPV6",,,(0-2),(0-4)', '+CGDCONT: (1-16),"IPV4V6",,,(0-2),(0-4)');
  if (cmd.form === 'read') {
    const lines = [...ctx.net.contexts.values()]
      .sort((a, b) => a.cid - b.cid)
      .map((c) => `+CGDCONT: ${c.cid},"${PDP_TYPE_NAMES[c.type] ?? 'IP'}","${c.apn}","${c.active ? ctx.pdpAddress : '0.0.0.0'}",0,0`);
    return info(...lines);
  }
  if (cmd.form !== 'set') return ERROR;
  const cid = intField(cmd.fields[0], 1, MAX_CID);
  if (cid === undefined) return ERROR;
  if (cmd.fields.length === 1) {
    ctx.net.contexts.delete(cid);
    return OK;
  }
  const type = PDP_TYPES[(strField(cmd.fields[1]) ?? '').toUpperCase()];
  const apn = cmd.fields[2] === undefined ? '' : strField(cmd.fields[2]);
  if (type === undefined || apn === undefined) return ERROR;
  const old = ctx.net.context(cid);
  ctx.net.defineContext(cid, { type, apn, user: old.user, password: old.password, auth: old.auth });
  return OK;
};

const cgatt: CommandHandler = async (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+CGATT: ${ctx.net.attached ? 1 : 0}`);
  if (cmd.form === 'test') return info('+CGATT: (0,1)');
  if (cmd.form !== 'set') return ERROR;
  const state = intField(cmd.fields[0], 0, 1);
  if (state === undefined) return ERROR;
  const blocked = simBlocked(ctx);
  if (blocked !== undefined) return blocked;
  if (state === 1) return ctx.net.registered ? ((ctx.net.attached = true), OK) : cme(30);
  const epoch = ctx.epoch;
  await ctx.sleep(ctx.timing.qideactMs);
  if (epoch !== ctx.epoch) return { final: 'none' };
  for (const cid of ctx.net.dropAllContexts()) ctx.sockets.closeContext(cid);
  ctx.net.attached = false;
  return OK;
};

const cgact: CommandHandler = async (ctx, cmd) => {
  if (cmd.form === 'read') {
    const lines = [...ctx.net.contexts.values()].sort((a, b) => a.cid - b.cid).map((c) => `+CGACT: ${c.cid},${c.active ? 1 : 0}`);
    return info(...lines);
  }
  if (cmd.form === 'test') return info('+CGACT: (0,1)');
  if (cmd.form !== 'set') return ERROR;
  const state = intField(cmd.fields[0], 0, 1);
  const cids = cmd.fields.slice(1).map((f) => intField(f, 1, MAX_CID));
  if (state === undefined || cids.some((c) => c === undefined)) return ERROR;
  const list = (cids.length > 0 ? cids : [...ctx.net.contexts.keys()]) as number[];
  for (const cid of list) {
    const r = state === 1 ? await activateContext(ctx, cid, 'cg') : await deactivateContext(ctx, cid);
    if (r.final !== 'OK') return r;
  }
  return OK;
};

const cgpaddr: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+CGPADDR: (1-16)');
  if (cmd.form !== 'set' && cmd.form !== 'exec') return ERROR;
  const cids = cmd.fields.map((f) => intField(f, 1, MAX_CID));
  if (cids.some((c) => c === undefined)) return ERROR;
  const list = (cids.length > 0 ? cids : [...ctx.net.contexts.keys()].sort((a, b) => a - b)) as number[];
  return info(...list.map((cid) => `+CGPADDR: ${cid},"${ctx.net.contexts.get(cid)?.active === true ? ctx.pdpAddress : '0.0.0.0'}"`));
};

const cgerep: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+CGEREP: ${ctx.net.cgerep.mode},${ctx.net.cgerep.bfr}`);
  if (cmd.form === 'test') return info('+CGEREP: (0-2),(0-1)');
  if (cmd.form !== 'set') return ERROR;
  const mode = intField(cmd.fields[0], 0, 2);
  const bfr = cmd.fields[1] === undefined ? 0 : intField(cmd.fields[1], 0, 1);
  if (mode === undefined || bfr === undefined) return ERROR;
  ctx.net.cgerep = { mode, bfr };
  return OK;
};

const cmee: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+CMEE: ${ctx.settings.cmee}`);
  if (cmd.form === 'test') return info('+CMEE: (0-2)');
  if (cmd.form !== 'set') return ERROR;
  const n = intField(cmd.fields[0], 0, 2);
  if (n === undefined) return ERROR;
  ctx.settings.cmee = n;
  return OK;
};

const qpowd: CommandHandler = (ctx, cmd) => {
  const mode = cmd.form === 'exec' ? 1 : cmd.form === 'set' ? intField(cmd.fields[0], 0, 1) : undefined;
  if (cmd.form === 'test') return info('+QPOWD: (0,1)');
  if (mode === undefined) return ERROR;
  // Mode 0 (immediate) answers no OK; mode 1 (normal) OK first. Both end with POWERED DOWN.
  if (mode === 0) {
    ctx.powerDown();
    return { final: 'none' };
  }
  return { final: 'OK', after: () => ctx.powerDown() };
};

const BAUD_RATES = [4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600];

/** `AT+IPR=<rate>`: `OK` at the old rate, then the port switches (`AT+IPR?` → `+IPR: <rate>`). */
const ipr: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+IPR: ${ctx.port.baudRate}`);
  if (cmd.form === 'test') return info(`+IPR: (),(${BAUD_RATES.join(',')})`);
  if (cmd.form !== 'set') return ERROR;
  const rate = intField(cmd.fields[0], 0, 1_000_000);
  if (rate === undefined || !BAUD_RATES.includes(rate)) return ERROR;
  return { final: 'OK', after: () => void ctx.port.changeBaudRate(rate) };
};

const plainOk: CommandHandler = (_ctx, cmd) => (cmd.form === 'exec' || cmd.form === 'set' ? OK : ERROR);

/** The V.250 / 27.007 handlers by upper-case name. */
export const BASIC_COMMANDS: Readonly<Record<string, CommandHandler>> = {
  '': () => OK,
  E: (ctx, cmd) => flag(cmd, (on) => ctx.port.setEcho(on)),
  V: (ctx, cmd) => flag(cmd, (on) => (ctx.settings.verbose = on)),
  Q: (_ctx, cmd) => (cmd.args === '' || cmd.args === '0' ? OK : ERROR),
  I: (ctx, cmd) => (cmd.args === '' || cmd.args === '0' ? info(ctx.identity.manufacturer, ctx.identity.model, `Revision: ${ctx.identity.revision}`) : ERROR),
  Z: (_ctx, cmd) => (cmd.args === '' || cmd.args === '0' ? OK : ERROR),
  '&F': (ctx, cmd) => {
    if (cmd.args !== '' && cmd.args !== '0') return ERROR;
    ctx.port.setEcho(true);
    ctx.settings.verbose = true;
    return OK;
  },
  '&W': plainOk,
  '+GMR': identity((c) => c.identity.revision),
  '+CGMR': identity((c) => c.identity.revision),
  '+GMM': identity((c) => c.identity.model),
  '+CGMM': identity((c) => c.identity.model),
  '+GMI': identity((c) => c.identity.manufacturer),
  '+CGMI': identity((c) => c.identity.manufacturer),
  '+GSN': identity((c) => c.identity.imei),
  '+CGSN': identity((c) => c.identity.imei),
  '+CMEE': cmee,
  '+CPIN': cpin,
  '+CSQ': (ctx, cmd) => (cmd.form === 'exec' ? info(ctx.net.csq()) : cmd.form === 'test' ? info('+CSQ: (0-31,99),(0-7,99)') : ERROR),
  '+CESQ': (ctx, cmd) => (cmd.form === 'exec' ? info(ctx.net.cesq()) : cmd.form === 'test' ? OK : ERROR),
  ...Object.fromEntries(REG_KINDS.map((k) => [`+${k}`, registration(k)])),
  '+COPS': (ctx, cmd) => {
    if (cmd.form === 'read') return info(ctx.net.cops());
    if (cmd.form === 'test') return info('+COPS: (2,"IOTNET SIM","IOTNET","00101",8),,(0-4),(0-2)');
    return cmd.form === 'set' ? OK : ERROR;
  },
  '+CFUN': cfun,
  '+CGDCONT': cgdcont,
  '+CGATT': cgatt,
  '+CGACT': cgact,
  '+CGPADDR': cgpaddr,
  '+CGEREP': cgerep,
  '+QPOWD': qpowd,
  '+IPR': ipr,
};
