/**
 * Quectel TCP/IP commands of the simulator (reference `at-modules.md` §3): `+QICSGP`, `+QIACT`,
 * `+QIDEACT`, `+QIOPEN` (`OK` at once, then `+QIOPEN: <id>,<err>`), `+QISTATE`, `+QISEND`
 * (counted after `\r\n> `, variable ending on 0x1A / cancelled by 0x1B, `=<id>,0` counters,
 * UDP SERVICE destinations), `+QISENDEX`, `+QIRD`, `+QICLOSE`, `+QIDNSGIP`, `+QIGETERROR`,
 * `+QISDE`, `+QICFG`, `+QISWTMD`. Failures answer `ERROR` and leave their code for
 * `AT+QIGETERROR`. Transparent access mode (2) and SSL (`+QSSL*`) are not simulated: `ERROR`.
 */
import { parseIp } from '../../../base/ip-address.ts';
import { latin1Text } from '../at-sim-port.ts';
import type { CommandHandler, QuectelContext } from './quectel-context.ts';
import { intField, strField } from './quectel-command-line.ts';
import { ERROR, info, OK, resultCode, type Reply } from './quectel-format.ts';
import { MAX_CID } from './quectel-network-model.ts';
import { activateContext, deactivateContext } from './quectel-pdp.ts';
import { MAX_READ, MAX_SEND, QI_ERROR_TEXT, SOCKET_IDS, type OpenRequest } from './quectel-sockets.ts';

/** The serial port name `AT+QISTATE` reports. */
const SERIAL_PORT = 'uart1';
const SERVICE_TYPES = ['TCP', 'UDP', 'TCP LISTENER', 'UDP SERVICE'] as const;
const AUTH_MAX = 2;

function fail(ctx: QuectelContext, code: number): Reply {
  ctx.settings.lastError = code;
  return ERROR;
}

const qicsgp: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-2)');
  if (cmd.form !== 'set') return ERROR;
  const cid = intField(cmd.fields[0], 1, MAX_CID);
  if (cid === undefined) return fail(ctx, 552);
  const pdp = ctx.net.context(cid);
  if (cmd.fields.length === 1) return info(`+QICSGP: ${pdp.type},"${pdp.apn}","${pdp.user}","${pdp.password}",${pdp.auth}`);
  const type = intField(cmd.fields[1], 1, 3);
  const apn = cmd.fields[2] === undefined ? pdp.apn : strField(cmd.fields[2]);
  const user = cmd.fields[3] === undefined ? '' : strField(cmd.fields[3]);
  const password = cmd.fields[4] === undefined ? '' : strField(cmd.fields[4]);
  const auth = cmd.fields[5] === undefined ? 0 : intField(cmd.fields[5], 0, AUTH_MAX);
  if (type === undefined || apn === undefined || user === undefined || password === undefined || auth === undefined) return fail(ctx, 552);
  ctx.net.defineContext(cid, { type, apn, user, password, auth });
  return OK;
};

const qiact: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+QIACT: (1-16)');
  if (cmd.form === 'read') {
    const lines = [...ctx.net.contexts.values()]
      .filter((c) => c.active)
      .sort((a, b) => a.cid - b.cid)
      .map((c) => `+QIACT: ${c.cid},1,${c.type},"${ctx.pdpAddress}"`);
    return info(...lines);
  }
  if (cmd.form !== 'set') return ERROR;
  const cid = intField(cmd.fields[0], 1, MAX_CID);
  if (cid === undefined || cmd.fields.length !== 1) return fail(ctx, 552);
  return activateContext(ctx, cid, 'qi');
};

const qideact: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+QIDEACT: (1-16)');
  if (cmd.form !== 'set') return ERROR;
  const cid = intField(cmd.fields[0], 1, MAX_CID);
  if (cid === undefined || cmd.fields.length !== 1) return fail(ctx, 552);
  return deactivateContext(ctx, cid);
};

/** The `+QIOPEN` code for a context that cannot carry sockets now, or 0. */
function pdpError(ctx: QuectelContext, cid: number): number {
  const pdp = ctx.net.contexts.get(cid);
  if (pdp?.broken === true) return 570;
  return pdp?.active === true ? 0 : 561;
}

const qiopen: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE","<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)');
  if (cmd.form !== 'set') return ERROR;
  const [fCid, fId, fType, fHost, fRport, fLport, fMode] = cmd.fields;
  const cid = intField(fCid, 1, MAX_CID);
  const id = intField(fId, 0, SOCKET_IDS - 1);
  const typeText = strField(fType);
  const type = SERVICE_TYPES.find((t) => t === typeText?.toUpperCase());
  const host = strField(fHost);
  const rport = intField(fRport, 0, 65535);
  const lport = fLport === undefined || fLport.text === '' ? 0 : intField(fLport, 0, 65535);
  const mode = fMode === undefined ? 0 : intField(fMode, 0, 2);
  if (cid === undefined || id === undefined || type === undefined || host === undefined || host.length > 150 || rport === undefined || lport === undefined || mode === undefined) {
    return fail(ctx, 552);
  }
  // Transparent access mode (2) is not simulated: ERROR.
  if (mode === 2) return fail(ctx, 555);
  if ((type === 'TCP' || type === 'UDP') && (host === '' || rport === 0)) return fail(ctx, 552);
  const req: OpenRequest = { cid, id, type, host, rport, lport, mode };
  const epoch = ctx.epoch;
  return {
    final: 'OK',
    after: () => {
      void (async () => {
        await ctx.sleep(ctx.timing.qiopenMs);
        if (epoch !== ctx.epoch) return;
        const err = await ctx.sockets.open(req, pdpError(ctx, cid));
        if (epoch !== ctx.epoch) return;
        ctx.settings.lastError = err;
        ctx.urc(`+QIOPEN: ${id},${err}`);
      })();
    },
  };
};

const qistate: CommandHandler = (ctx, cmd) => {
  const all = ctx.sockets.all();
  if (cmd.form === 'test') return OK;
  if (cmd.form === 'read' || cmd.form === 'exec') return info(...all.map((s) => ctx.sockets.stateLine(s, SERIAL_PORT)));
  const query = intField(cmd.fields[0], 0, 1);
  if (query === undefined || cmd.fields.length !== 2) return fail(ctx, 552);
  if (query === 0) {
    const cid = intField(cmd.fields[1], 1, MAX_CID);
    if (cid === undefined) return fail(ctx, 552);
    return info(...all.filter((s) => s.cid === cid).map((s) => ctx.sockets.stateLine(s, SERIAL_PORT)));
  }
  const id = intField(cmd.fields[1], 0, SOCKET_IDS - 1);
  if (id === undefined) return fail(ctx, 552);
  const s = ctx.sockets.get(id);
  return s === undefined ? OK : info(ctx.sockets.stateLine(s, SERIAL_PORT));
};

/** Writes the final of a send (`SEND OK`, `SEND FAIL`, `ERROR`) after the `beforeSendOk` point. */
function sendResult(ctx: QuectelContext, outcome: 'ok' | 'fail' | 'error'): Reply {
  ctx.port.point('beforeSendOk');
  if (outcome === 'error') return fail(ctx, 567);
  if (outcome === 'fail') {
    ctx.stats.sendFail++;
    ctx.settings.lastError = 558;
    ctx.port.write(resultCode('SEND FAIL', ctx.settings));
    return { final: 'none' };
  }
  ctx.stats.sendOk++;
  ctx.port.write(resultCode('SEND OK', ctx.settings));
  return { final: 'none' };
}

/** Sends `data` unless the `sendFail` fault refuses it. */
function deliver(ctx: QuectelContext, id: number, data: Uint8Array, to: { ip: string; port: number } | undefined): 'ok' | 'fail' | 'error' {
  if (ctx.sockets.get(id) !== undefined && ctx.faults.fire('sendFail')) return 'fail';
  return ctx.sockets.send(id, data, to);
}

/** The `> ` prompt (`\r\n> ` verbose), then a URC injection point. */
function prompt(ctx: QuectelContext): void {
  ctx.port.write(ctx.settings.verbose ? '\r\n> ' : '> ', 'prompt');
  ctx.port.point('afterPrompt');
  if (ctx.faults.fire('rebootInSend')) {
    ctx.port.setTimer(ctx.faults.param('rebootInSend', 'delayMs', 1), () => ctx.reboot());
  }
}

function echoData(ctx: QuectelContext, data: Uint8Array): void {
  if (ctx.port.echo && ctx.settings.dataEcho && data.length > 0) ctx.port.write(data, 'echo');
}

const qisend: CommandHandler = async (ctx, cmd) => {
  if (cmd.form === 'test') return info(`+QISEND: (0-11),(0-${MAX_SEND})`);
  if (cmd.form !== 'set') return ERROR;
  const id = intField(cmd.fields[0], 0, SOCKET_IDS - 1);
  if (id === undefined || cmd.fields.length === 3 || cmd.fields.length > 4) return fail(ctx, 552);
  const s = ctx.sockets.get(id);
  const lenField = cmd.fields[1];
  if (lenField !== undefined && lenField.text === '0' && cmd.fields.length === 2) {
    if (s === undefined) return fail(ctx, 552);
    return info(`+QISEND: ${s.txTotal},${s.txAcked},${s.txTotal - s.txAcked}`);
  }
  let to: { ip: string; port: number } | undefined;
  if (cmd.fields.length === 4) {
    const ip = strField(cmd.fields[2]);
    const port = intField(cmd.fields[3], 1, 65535);
    if (ip === undefined || parseIp(ip) === undefined || port === undefined) return fail(ctx, 552);
    to = { ip, port };
  }
  const connected = s !== undefined && s.state === 2 && (to === undefined) === (s.type !== 'UDP SERVICE');
  if (!connected) return fail(ctx, 567);
  const epoch = ctx.epoch;
  if (lenField === undefined) {
    prompt(ctx);
    const v = await ctx.port.readVariableData({ maxBytes: MAX_SEND });
    if (v === undefined || epoch !== ctx.epoch) return { final: 'none' };
    echoData(ctx, v.bytes);
    // ESC cancels: ERROR with 571 (send cancelled) for AT+QIGETERROR [U].
    if (v.cancelled) {
      ctx.stats.sendCancelled++;
      return fail(ctx, 571);
    }
    return sendResult(ctx, deliver(ctx, id, v.bytes, to));
  }
  const len = intField(lenField, 1, MAX_SEND);
  if (len === undefined) return fail(ctx, 552);
  prompt(ctx);
  const data = await ctx.port.readData(len);
  if (data === undefined || epoch !== ctx.epoch) return { final: 'none' };
  echoData(ctx, data);
  return sendResult(ctx, deliver(ctx, id, data, to));
};

const qisendex: CommandHandler = (ctx, cmd) => {
  if (cmd.form !== 'set') return cmd.form === 'test' ? OK : ERROR;
  const id = intField(cmd.fields[0], 0, SOCKET_IDS - 1);
  const hex = strField(cmd.fields[1]);
  if (id === undefined || hex === undefined || hex.length === 0 || hex.length % 2 !== 0 || hex.length > 2 * 512 || !/^[0-9A-Fa-f]*$/.test(hex)) {
    return fail(ctx, 552);
  }
  const data = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  return sendResult(ctx, deliver(ctx, id, data, undefined));
};

const qird: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info(`+QIRD: (0-11),(0-${MAX_READ})`);
  if (cmd.form !== 'set') return ERROR;
  const id = intField(cmd.fields[0], 0, SOCKET_IDS - 1);
  const len = cmd.fields[1] === undefined ? MAX_READ : intField(cmd.fields[1], 0, MAX_READ);
  if (id === undefined || len === undefined || cmd.fields.length > 2) return fail(ctx, 552);
  const s = ctx.sockets.get(id);
  if (s === undefined) return fail(ctx, 552);
  if (len === 0) return info(`+QIRD: ${s.rxTotal},${s.rxRead},${s.rxBytes}`);
  const got = ctx.sockets.read(id, len);
  if (got === undefined) return fail(ctx, 555);
  const from = s.type === 'UDP SERVICE' && got.from !== undefined ? `,"${got.from.ip}",${got.from.port}` : '';
  if (got.data.length === 0) return info(`+QIRD: 0${from}`);
  // Header and data are one message: nothing (URC, noise) ever comes between a count and its bytes.
  return info(`+QIRD: ${got.data.length}${from}\r\n${latin1Text(got.data)}`);
};

const qiclose: CommandHandler = async (ctx, cmd) => {
  if (cmd.form === 'test') return info('+QICLOSE: (0-11),(0-65535)');
  if (cmd.form !== 'set') return ERROR;
  const id = intField(cmd.fields[0], 0, SOCKET_IDS - 1);
  const timeout = cmd.fields[1] === undefined ? 10 : intField(cmd.fields[1], 0, 65535);
  if (id === undefined || timeout === undefined) return fail(ctx, 552);
  // A free id answers OK (drivers close ids 0..11 at start; the module does not complain).
  if (ctx.sockets.get(id) === undefined) return OK;
  const epoch = ctx.epoch;
  await ctx.sleep(Math.min(ctx.timing.qicloseMs, timeout * 1000));
  if (epoch !== ctx.epoch) return { final: 'none' };
  ctx.sockets.close(id);
  return OK;
};

const qidnsgip: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return OK;
  if (cmd.form !== 'set') return ERROR;
  const cid = intField(cmd.fields[0], 1, MAX_CID);
  const host = strField(cmd.fields[1]);
  if (cid === undefined || host === undefined || host === '' || host.length > 150) return fail(ctx, 552);
  const epoch = ctx.epoch;
  return {
    final: 'OK',
    after: () => {
      void (async () => {
        await ctx.sleep(ctx.timing.dnsMs);
        if (epoch !== ctx.epoch) return;
        const pdpErr = pdpError(ctx, cid);
        let ip: string | undefined;
        let err = pdpErr;
        if (err === 0) {
          try {
            ip = await ctx.sockets.lookup(host);
          } catch {
            err = 565;
          }
        }
        if (epoch !== ctx.epoch) return;
        ctx.settings.lastError = err;
        if (err !== 0 || ip === undefined) {
          ctx.urc(`+QIURC: "dnsgip",${err}`);
          return;
        }
        ctx.urc('+QIURC: "dnsgip",0,1,600');
        ctx.urc(`+QIURC: "dnsgip","${ip}"`);
      })();
    },
  };
};

const qigeterror: CommandHandler = (ctx, cmd) => {
  if (cmd.form !== 'exec') return cmd.form === 'test' ? OK : ERROR;
  const code = ctx.settings.lastError;
  return info(`+QIGETERROR: ${code},${QI_ERROR_TEXT[code] ?? 'unknown error'}`);
};

const qisde: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'read') return info(`+QISDE: ${ctx.settings.dataEcho ? 1 : 0}`);
  if (cmd.form === 'test') return info('+QISDE: (0,1)');
  const v = intField(cmd.fields[0], 0, 1);
  if (cmd.form !== 'set' || v === undefined) return ERROR;
  ctx.settings.dataEcho = v === 1;
  return OK;
};

const qiswtmd: CommandHandler = (ctx, cmd) => {
  if (cmd.form !== 'set') return cmd.form === 'test' ? OK : ERROR;
  const id = intField(cmd.fields[0], 0, SOCKET_IDS - 1);
  const mode = intField(cmd.fields[1], 0, 2);
  // Switching access modes (and transparent mode 2) is not simulated: only the current mode is accepted.
  const s = id === undefined ? undefined : ctx.sockets.get(id);
  if (s === undefined || mode === undefined || mode !== s.mode) return fail(ctx, 555);
  return OK;
};

/** The TCP/IP handlers by upper-case name. */
export const TCPIP_COMMANDS: Readonly<Record<string, CommandHandler>> = {
  '+QICSGP': qicsgp,
  '+QIACT': qiact,
  '+QIDEACT': qideact,
  '+QIOPEN': qiopen,
  '+QISTATE': qistate,
  '+QISEND': qisend,
  '+QISENDEX': qisendex,
  '+QIRD': qird,
  '+QICLOSE': qiclose,
  '+QIDNSGIP': qidnsgip,
  '+QIGETERROR': qigeterror,
  '+QISDE': qisde,
  '+QISWTMD': qiswtmd,
  // Model options are accepted and ignored.
  '+QICFG': (_ctx, cmd) => (cmd.form === 'set' || cmd.form === 'test' ? OK : ERROR),
};

