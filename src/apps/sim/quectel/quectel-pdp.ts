/**
 * PDP context activation and deactivation shared by `AT+QIACT`/`AT+QIDEACT` (Quectel, failures
 * answer `ERROR` and set `AT+QIGETERROR`) and `AT+CGACT` (27.007, failures answer `+CME ERROR`).
 * Activation needs the SIM ready, full functionality and registration (1 home or 5 roaming);
 * without them it fails after the activation time, as a module whose network never answers.
 */
import type { QuectelContext } from './quectel-context.ts';
import { cme, ERROR, OK, type Reply } from './quectel-format.ts';
import { simCmeError } from './quectel-network-model.ts';

/** Which command family asks: `qi` answers ERROR (+ QIGETERROR), `cg` answers CME errors. */
export type PdpDialect = 'qi' | 'cg';

function failure(ctx: QuectelContext, dialect: PdpDialect, qiError: number, cmeCode: number): Reply {
  if (dialect === 'qi') {
    ctx.settings.lastError = qiError;
    return ERROR;
  }
  return cme(cmeCode);
}

/** Activates context `cid` (`AT+QIACT=<cid>`, `AT+CGACT=1,<cid>`). */
export async function activateContext(ctx: QuectelContext, cid: number, dialect: PdpDialect): Promise<Reply> {
  const sim = simCmeError(ctx.net.simState);
  if (sim !== undefined) return failure(ctx, dialect, 561, sim);
  const pdp = ctx.net.context(cid);
  if (pdp.active) return dialect === 'qi' ? failure(ctx, dialect, 561, 3) : OK;
  const epoch = ctx.epoch;
  await ctx.sleep(ctx.timing.qiactMs);
  if (epoch !== ctx.epoch) return { final: 'none' };
  if (!ctx.net.registered || ctx.net.cfun !== 1) return failure(ctx, dialect, 561, 30);
  pdp.active = true;
  pdp.broken = false;
  ctx.settings.lastError = 0;
  return OK;
}

/** Deactivates context `cid` and frees every socket id on it (`AT+QIDEACT`, `AT+CGACT=0,<cid>`). */
export async function deactivateContext(ctx: QuectelContext, cid: number): Promise<Reply> {
  const epoch = ctx.epoch;
  await ctx.sleep(ctx.timing.qideactMs);
  if (epoch !== ctx.epoch) return { final: 'none' };
  ctx.sockets.closeContext(cid);
  const pdp = ctx.net.contexts.get(cid);
  if (pdp !== undefined) {
    pdp.active = false;
    pdp.broken = false;
  }
  ctx.settings.lastError = 0;
  return OK;
}
