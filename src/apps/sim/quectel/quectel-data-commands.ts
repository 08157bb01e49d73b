/**
 * Data-call commands of the Quectel simulator (reference `at-modules.md` §2, 27.007 §10.2.1.1,
 * V.250 §6.3): `ATD*99[*[<addr>][*[<L2P>][*[<cid>]]]]#` (optional `T`/`P` before it),
 * `AT+CGDATA="PPP"[,<cid>]`, `ATO`, `ATH`, `AT&D`, `AT&C`, `ATS12`. The call itself is
 * `QuectelDataMode` (`quectel-data-mode.ts`). Other dial strings (voice, CSD) answer `ERROR`.
 */
import type { CommandHandler } from './quectel-context.ts';
import { intField, strField } from './quectel-command-line.ts';
import { cme, ERROR, info, OK } from './quectel-format.ts';
import { MAX_CID } from './quectel-network-model.ts';

/** A packet-domain dial string: the context id, or undefined when it is not one we carry. */
export function parseGprsDial(args: string): { cid: number } | undefined {
  const m = /^[TP]?\*99(?:\*([^*#]*)(?:\*([^*#]*)(?:\*([^*#]*))?)?)?#$/i.exec(args.trim());
  if (m === null) return undefined;
  const l2p = (m[2] ?? '').toUpperCase();
  if (l2p !== '' && l2p !== 'PPP' && l2p !== '1') return undefined;
  const cidText = m[3] ?? '';
  if (cidText === '') return { cid: 1 };
  if (!/^\d{1,2}$/.test(cidText)) return undefined;
  const cid = Number(cidText);
  return cid >= 1 && cid <= MAX_CID ? { cid } : undefined;
}

const dial: CommandHandler = (ctx, cmd) => {
  const target = parseGprsDial(cmd.args);
  if (target === undefined) return ERROR;
  return ctx.data.dial(ctx, target.cid, 'atd', `D${cmd.args}`);
};

const cgdata: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'test') return info('+CGDATA: ("PPP")');
  if (cmd.form === 'exec') return ctx.data.dial(ctx, 1, 'cgdata', '+CGDATA');
  if (cmd.form !== 'set' || cmd.fields.length > 2) return ERROR;
  const l2pField = cmd.fields[0];
  const l2p = l2pField === undefined || l2pField.text === '' ? 'PPP' : strField(l2pField);
  if (l2p === undefined) return ERROR;
  if (l2p.toUpperCase() !== 'PPP') return cme(4);
  const cid = cmd.fields[1] === undefined ? 1 : intField(cmd.fields[1], 1, MAX_CID);
  if (cid === undefined) return ERROR;
  return ctx.data.dial(ctx, cid, 'cgdata', `+CGDATA=${cmd.args}`);
};

/** A basic command taking one digit in [0, max] (absent = 0), stored by `set`. */
function digitSetting(max: number, set: (ctx: Parameters<CommandHandler>[0], n: number) => void): CommandHandler {
  return (ctx, cmd) => {
    if (cmd.form !== 'exec' || !/^\d?$/.test(cmd.args)) return ERROR;
    const n = cmd.args === '' ? 0 : Number(cmd.args);
    if (n > max) return ERROR;
    set(ctx, n);
    return OK;
  };
}

/** `ATS12?` (three digits, V.250) and `ATS12=<0..255>`: the escape guard time in 20 ms units. */
const s12: CommandHandler = (ctx, cmd) => {
  if (cmd.form === 'read') return info(String(ctx.settings.s12).padStart(3, '0'));
  if (cmd.form !== 'set') return ERROR;
  const n = intField(cmd.fields[0], 0, 255);
  if (n === undefined || cmd.fields.length !== 1) return ERROR;
  ctx.settings.s12 = n;
  return OK;
};

/** The data-call handlers by upper-case name. */
export const DATA_COMMANDS: Readonly<Record<string, CommandHandler>> = {
  D: dial,
  '+CGDATA': cgdata,
  O: (ctx, cmd) => (cmd.form === 'exec' && (cmd.args === '' || cmd.args === '0') ? ctx.data.resume() : ERROR),
  H: (ctx, cmd) => (cmd.form === 'exec' && (cmd.args === '' || cmd.args === '0') ? ctx.data.hangUp() : ERROR),
  '&D': digitSetting(2, (ctx, n) => (ctx.settings.dtrMode = n)),
  '&C': digitSetting(1, (ctx, n) => (ctx.settings.dcdMode = n)),
  S12: s12,
};
