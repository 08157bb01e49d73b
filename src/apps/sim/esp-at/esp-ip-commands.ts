/**
 * TCP/IP commands (reference §1.5): `AT+CIPMUX`, `AT+CIPSTART`/`AT+CIPSTARTEX` (TCP, UDP with
 * local port and mode, SSL; `ALREADY CONNECTED`, `ERROR` then `CLOSED`, NONOS `DNS Fail`),
 * `AT+CIPSEND` (prompt per dialect, exactly N bytes, `Recv N bytes`, `SEND OK`/`SEND FAIL` and
 * their faults; passthrough with `AT+CIPMODE=1`), `AT+CIPCLOSE`, `AT+CIPSTATE?`, `AT+CIPSTATUS`,
 * `AT+CIPDOMAIN`, `AT+CIPSERVER`, `AT+CIPSERVERMAXCONN`, `AT+CIPDINFO`, `AT+CIPRECVMODE`,
 * `AT+CIPRECVTYPE`, `AT+CIPRECVDATA`, `AT+CIPRECVLEN?`, `AT+CIPTCPOPT`, `AT+CIPMODE`.
 */
import { parseIp } from '../../../base/ip-address.ts';
import { connectTls } from '../../../tls/connect-tls.ts';
import type { TcpServer } from '../../../socket/tcp-server.ts';
import type { EspAtSim } from './esp-at-sim.ts';
import { ERR, intParam, omitted, strParam, type EspCommand, type EspCommandEntry } from './esp-command.ts';
import type { EspLink, EspLinkType, StreamSocket } from './esp-links.ts';

const TYPES = new Set<string>(['TCP', 'UDP', 'SSL', 'TCPv6', 'UDPv6', 'SSLv6']);

/** The link id argument: parameter 0 with MUX=1 (0-4, or 5 when `all`), 0 implied with MUX=0. */
function linkArg(sim: EspAtSim, cmd: EspCommand, all = false): { id: number; next: number } | undefined {
  if (!sim.mux) return { id: 0, next: 0 };
  const id = intParam(cmd, 0, 0, all ? 5 : 4);
  return id === undefined ? undefined : { id, next: 1 };
}

function cipmux(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') return sim.reply([`+CIPMUX:${sim.mux ? 1 : 0}`]);
  const v = intParam(cmd, 0, 0, 1);
  if (cmd.form !== 'set' || v === undefined) return sim.error(ERR.paramInvalid);
  const busy = sim.links.some((l) => l !== undefined) || sim.server !== undefined || (v === 1 && sim.cipmode === 1);
  if (busy && (v === 1) !== sim.mux) return sim.error(ERR.opError);
  sim.mux = v === 1;
  sim.ok();
}

/** Resolves `host` through the network; undefined when it fails. */
async function resolve(sim: EspAtSim, host: string, family?: 4 | 6): Promise<string | undefined> {
  const literal = parseIp(host);
  if (literal !== undefined) return family === undefined || (literal.length === 16) === (family === 6) ? host : undefined;
  try {
    return await sim.network.lookup(host, family === undefined ? {} : { family });
  } catch {
    return undefined;
  }
}

async function cipstart(sim: EspAtSim, cmd: EspCommand, ex: boolean): Promise<void> {
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  let id: number;
  let p = 0;
  if (ex || !sim.mux) {
    const free = sim.mux ? sim.freeId() : 0;
    if (free === undefined) return sim.error(ERR.opError);
    id = free;
  } else {
    const a = linkArg(sim, cmd);
    if (a === undefined) return sim.error(ERR.paramInvalid);
    id = a.id;
    p = a.next;
  }
  const type = strParam(cmd, p, 8);
  const host = strParam(cmd, p + 1, 64);
  const rport = intParam(cmd, p + 2, 1, 65535);
  if (type === undefined || !TYPES.has(type) || host === undefined || host === '' || rport === undefined) {
    return sim.error(ERR.paramInvalid);
  }
  if (sim.dialect.name === 'nonos' && type.endsWith('v6')) return sim.error(ERR.paramInvalid);
  const udp = type.startsWith('UDP');
  let lport = 0;
  let mode: 0 | 1 | 2 = 0;
  if (udp) {
    if (!omitted(cmd, p + 3)) {
      const l = intParam(cmd, p + 3, 1, 65535);
      if (l === undefined) return sim.error(ERR.paramInvalid);
      lport = l;
    }
    if (!omitted(cmd, p + 4)) {
      const m = intParam(cmd, p + 4, 0, 2);
      if (m === undefined) return sim.error(ERR.paramInvalid);
      mode = m as 0 | 1 | 2;
    }
  } else if (!omitted(cmd, p + 3) && intParam(cmd, p + 3, 0, 7200) === undefined) {
    return sim.error(ERR.paramInvalid);
  }
  if (sim.links[id] !== undefined || sim.reserved.has(id)) {
    sim.stats.errors++;
    return sim.port.writeLines(['ALREADY CONNECTED\r\n', '\r\nERROR\r\n']);
  }
  if (!sim.wifi.up) return sim.error(ERR.opError);
  const ssl = type.startsWith('SSL');
  if (ssl && sim.tls.maxLinks !== undefined && sim.links.filter((l) => l?.type.startsWith('SSL') === true).length >= sim.tls.maxLinks) {
    sim.crash('ssl');
    return;
  }
  const gen = sim.generation;
  sim.reserved.add(id);
  try {
    const family = type.endsWith('v6') ? 6 : 4;
    const ip = await resolve(sim, host, family);
    if (gen !== sim.generation) return;
    if (ip === undefined) {
      sim.stats.connectFailures++;
      sim.stats.errors++;
      return sim.port.writeLines([...(sim.dialect.dnsFail ? ['DNS Fail\r\n'] : []), '\r\nERROR\r\n']);
    }
    const passive = sim.recvPassive;
    if (udp) {
      let socket;
      try {
        socket = await sim.network.udp(lport === 0 ? { family } : { port: lport, family });
      } catch {
        if (gen !== sim.generation) return;
        return failConnect(sim, id);
      }
      if (gen !== sim.generation) {
        void socket.close();
        return;
      }
      const link = sim.newLink({ id, type: type as EspLinkType, remoteIp: ip, remotePort: rport, localPort: socket.address.port, server: 0, passive });
      link.attachUdp(socket, mode);
      return connected(sim, link);
    }
    let socket: StreamSocket & { localAddress?: { port: number } };
    let localPort = 0;
    try {
      if (ssl) {
        const { maxLinks: _maxLinks, ...tlsOptions } = sim.tls;
        const servername = parseIp(host) === undefined ? host : tlsOptions.servername;
        const secure = await connectTls(sim.network, { host: ip, port: rport }, {
          ...tlsOptions,
          ...(servername !== undefined ? { servername } : {}),
          timeoutMs: sim.timing.cipstartTimeoutMs,
        });
        socket = secure;
      } else {
        const tcp = await sim.network.connect({ host: ip, port: rport }, { timeoutMs: sim.timing.cipstartTimeoutMs });
        socket = tcp;
        localPort = tcp.localAddress.port;
      }
    } catch {
      if (gen !== sim.generation) return;
      return failConnect(sim, id);
    }
    if (gen !== sim.generation) {
      socket.destroy();
      return;
    }
    const link = sim.newLink({ id, type: type as EspLinkType, remoteIp: ip, remotePort: rport, localPort, server: 0, passive });
    link.attachStream(socket);
    return connected(sim, link);
  } finally {
    sim.reserved.delete(id);
  }
}

function failConnect(sim: EspAtSim, id: number): void {
  sim.stats.connectFailures++;
  sim.stats.errors++;
  sim.port.writeLines(['\r\nERROR\r\n', `${sim.idPrefix(id)}CLOSED\r\n`]);
}

function connected(sim: EspAtSim, link: EspLink): void {
  sim.stats.connects++;
  sim.port.writeLines([sim.connectMessage(link), '\r\nOK\r\n']);
}

async function cipsend(sim: EspAtSim, cmd: EspCommand): Promise<void> {
  if (cmd.form === 'exec') return passthroughSend(sim);
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const a = linkArg(sim, cmd);
  if (a === undefined) return sim.error(ERR.paramInvalid);
  const len = intParam(cmd, a.next, 1, sim.dialect.sendMax);
  const link = sim.links[a.id];
  if (len === undefined || link === undefined || link.closed || link.closePending) return sim.error(ERR.paramInvalid);
  let to: { host: string; port: number } | undefined;
  if (!omitted(cmd, a.next + 1)) {
    const host = strParam(cmd, a.next + 1, 64);
    const port = intParam(cmd, a.next + 2, 1, 65535);
    if (!link.isUdp || host === undefined || port === undefined) return sim.error(ERR.paramInvalid);
    to = { host, port };
  }
  if (sim.cipmode === 1) return sim.error(ERR.opError);
  const gen = sim.generation;
  sim.port.write(sim.dialect.sendPrompt, 'prompt');
  const pending = sim.port.readData(len);
  sim.port.point('afterPrompt');
  const data = await pending;
  if (data === undefined || gen !== sim.generation) return;
  if (sim.dataPoint()) return;
  sim.port.write(`\r\nRecv ${len} bytes\r\n`, 'response');
  const faults = sim.faults;
  if (faults.fire('sendFail')) return sendResult(sim, ['\r\nSEND FAIL\r\n'], false);
  const sending = link.send(data, to);
  const timeout = link.tcpOpt.sndtimeo > 0 ? link.tcpOpt.sndtimeo : 0;
  const ok = timeout > 0
    ? await Promise.race([sending, sim.port.sleep(timeout).then(() => false)])
    : await sending;
  if (gen !== sim.generation) return;
  if (sim.timing.sendMs > 0) await sim.port.sleep(sim.timing.sendMs);
  if (gen !== sim.generation) return;
  if (!ok) return sendResult(sim, ['\r\nSEND FAIL\r\n'], false);
  sim.stats.bytesToNetwork += data.length;
  if (faults.fire('missingSendOk')) {
    sim.stats.sendOk++;
    return;
  }
  if (faults.fire('sendFailThenOk')) return sendResult(sim, ['\r\nSEND FAIL\r\n', '\r\nSEND OK\r\n'], true);
  if (faults.fire('errorThenSendOk')) return sendResult(sim, ['\r\nERROR\r\n', '\r\nSEND OK\r\n'], true);
  sendResult(sim, ['\r\nSEND OK\r\n'], true);
}

function sendResult(sim: EspAtSim, parts: string[], ok: boolean): void {
  if (ok) sim.stats.sendOk++;
  else sim.stats.sendFail++;
  sim.port.point('beforeSendOk');
  sim.port.writeLines(parts);
}

/** `AT+CIPSEND` with `AT+CIPMODE=1`: raw bytes to the link, flushed at 2920 bytes or 20 ms idle, until `+++`. */
function passthroughSend(sim: EspAtSim): void {
  const link = sim.links[0];
  if (sim.cipmode !== 1 || sim.mux || link === undefined || link.closed) return sim.error(ERR.opError);
  sim.port.write('\r\nOK\r\n\r\n>', 'prompt');
  sim.passthrough = true;
  let buffer: Uint8Array[] = [];
  let size = 0;
  let timer: (() => void) | undefined;
  const flush = (): void => {
    timer?.();
    timer = undefined;
    if (size === 0) return;
    const out = new Uint8Array(size);
    let o = 0;
    for (const b of buffer) {
      out.set(b, o);
      o += b.length;
    }
    buffer = [];
    size = 0;
    sim.stats.bytesToNetwork += out.length;
    link.sendRaw(out);
  };
  sim.port.enterRaw({
    guardMs: 20,
    onData: (bytes) => {
      buffer.push(bytes);
      size += bytes.length;
      if (size >= 2920) flush();
      else {
        timer?.();
        timer = sim.port.setTimer(20, flush);
      }
    },
    onEscape: () => {
      flush();
      sim.passthrough = false;
      if ((sim.sysmsg & 1) !== 0) sim.port.urc('+QUITT\r\n');
    },
  });
}

function cipclose(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'test') return sim.ok();
  if (sim.mux ? cmd.form !== 'set' : cmd.form !== 'exec') return sim.error(ERR.paramInvalid);
  const a = linkArg(sim, cmd, true);
  if (a === undefined) return sim.error(ERR.paramInvalid);
  if (a.id === 5) {
    const closing = sim.links.filter((l): l is EspLink => l !== undefined);
    for (const l of closing) sim.closeLink(l, false);
    return sim.port.writeLines([...closing.map((l) => `${l.id},CLOSED\r\n`), '\r\nOK\r\n']);
  }
  const link = sim.links[a.id];
  if (link === undefined) {
    sim.stats.errors++;
    return sim.port.writeLines([...(sim.dialect.unlink ? ['UNLINK\r\n'] : []), '\r\nERROR\r\n']);
  }
  link.close();
  sim.links[a.id] = undefined;
  sim.port.writeLines([`${sim.idPrefix(a.id)}CLOSED\r\n`, '\r\nOK\r\n']);
}

function cipstate(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'query') return sim.error(ERR.unsupported);
  sim.reply(sim.links.filter((l): l is EspLink => l !== undefined).map((l) => `+CIPSTATE:${l.id},${l.describe()}`));
}

function cipstatus(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'exec') return sim.error(ERR.unsupported);
  const links = sim.links.filter((l): l is EspLink => l !== undefined);
  const status = !sim.wifi.up ? 5 : links.length > 0 ? 3 : sim.hadLinks ? 4 : 2;
  sim.reply([`STATUS:${status}`, ...links.map((l) => `+CIPSTATUS:${l.id},${l.describe()}`)]);
}

async function cipdomain(sim: EspAtSim, cmd: EspCommand): Promise<void> {
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const name = strParam(cmd, 0, 64);
  if (name === undefined || name === '') return sim.error(ERR.paramInvalid);
  let family: 4 | 6 | undefined;
  if (cmd.params.length > 1) {
    const f = sim.dialect.espAtOnly ? intParam(cmd, 1, 1, 3) : undefined;
    if (f === undefined) return sim.error(ERR.paramInvalid);
    family = f === 1 ? undefined : f === 2 ? 4 : 6;
  }
  if (!sim.wifi.up) return sim.error(ERR.opError);
  const gen = sim.generation;
  const ip = await resolve(sim, name, family);
  if (gen !== sim.generation) return;
  if (ip === undefined) {
    sim.stats.errors++;
    return sim.port.writeLines([...(sim.dialect.dnsFail ? ['DNS Fail\r\n'] : []), '\r\nERROR\r\n']);
  }
  sim.reply([sim.dialect.quoteIp ? `+CIPDOMAIN:"${ip}"` : `+CIPDOMAIN:${ip}`]);
}

async function cipserver(sim: EspAtSim, cmd: EspCommand): Promise<void> {
  if (cmd.form === 'query') {
    const s = sim.server;
    return sim.reply([s === undefined ? '+CIPSERVER:0' : `+CIPSERVER:1,${s.port},"${s.type}",0`]);
  }
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const on = intParam(cmd, 0, 0, 1);
  if (on === undefined) return sim.error(ERR.paramInvalid);
  if (on === 0) {
    if (sim.server === undefined) return sim.dialect.name === 'nonos' ? sim.reply(['no change']) : sim.error(ERR.opError);
    const closeAll = intParam(cmd, 1, 0, 1) === 1 || sim.dialect.name === 'nonos';
    void sim.server.socket.close().catch(() => undefined);
    sim.server = undefined;
    if (closeAll) for (const l of sim.links) if (l !== undefined && l.server === 1) sim.closeLink(l, true);
    return sim.ok();
  }
  const port = omitted(cmd, 1) ? 333 : intParam(cmd, 1, 1, 65535);
  if (port === undefined || !sim.mux) return sim.error(ERR.paramInvalid);
  if (sim.server !== undefined) return sim.dialect.name === 'nonos' ? sim.reply(['no change']) : sim.error(ERR.opError);
  const gen = sim.generation;
  let server: TcpServer;
  try {
    server = await sim.network.listen({ port });
  } catch {
    if (gen === sim.generation) sim.error(ERR.execFail);
    return;
  }
  if (gen !== sim.generation) {
    void server.close();
    return;
  }
  sim.server = { socket: server, port, type: 'TCP' };
  void acceptLoop(sim, server, gen);
  sim.ok();
}

async function acceptLoop(sim: EspAtSim, server: TcpServer, gen: number): Promise<void> {
  for (;;) {
    let socket;
    try {
      socket = await server.accept();
    } catch {
      return;
    }
    if (gen !== sim.generation || sim.server?.socket !== server) {
      socket.destroy();
      return;
    }
    const serverLinks = sim.links.filter((l) => l?.server === 1).length;
    const id = sim.freeId();
    if (id === undefined || serverLinks >= sim.serverMaxConn) {
      socket.destroy();
      continue;
    }
    sim.stats.accepts++;
    const link = sim.newLink({
      id,
      type: 'TCP',
      remoteIp: socket.remoteAddress.address,
      remotePort: socket.remoteAddress.port,
      localPort: socket.localAddress.port,
      server: 1,
      passive: sim.recvPassive,
    });
    link.attachStream(socket);
    sim.port.urc(sim.connectMessage(link));
  }
}

function intSetting(name: string, lo: number, hi: number, get: (sim: EspAtSim) => number, set: (sim: EspAtSim, v: number) => void, query?: (sim: EspAtSim) => string): EspCommandEntry['run'] {
  return (sim, cmd) => {
    if (cmd.form === 'query') return sim.reply([query?.(sim) ?? `+${name}:${get(sim)}`]);
    const v = intParam(cmd, 0, lo, hi);
    if (cmd.form !== 'set' || v === undefined || cmd.params.length !== 1) return sim.error(ERR.paramInvalid);
    set(sim, v);
    sim.ok();
  };
}

function setPassive(sim: EspAtSim, link: EspLink | undefined, passive: boolean): void {
  if (link === undefined) return;
  link.passive = passive;
  link.wake();
}

function ciprecvtype(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') {
    if (!sim.mux) return sim.reply([`+CIPRECVTYPE:${(sim.links[0]?.passive ?? sim.recvPassive) ? 1 : 0}`]);
    return sim.reply([0, 1, 2, 3, 4].map((i) => `+CIPRECVTYPE:${i},${(sim.links[i]?.passive ?? sim.recvPassive) ? 1 : 0}`));
  }
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const a = linkArg(sim, cmd, true);
  const mode = a === undefined ? undefined : intParam(cmd, a.next, 0, 1);
  if (a === undefined || mode === undefined) return sim.error(ERR.paramInvalid);
  if (a.id === 5 || !sim.mux) {
    sim.recvPassive = mode === 1;
    for (const l of sim.links) setPassive(sim, l, mode === 1);
  } else {
    setPassive(sim, sim.links[a.id], mode === 1);
  }
  sim.ok();
}

function ciprecvdata(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const a = linkArg(sim, cmd);
  const max = a === undefined ? undefined : intParam(cmd, a.next, 1, sim.dialect.sendMax);
  if (a === undefined || max === undefined) return sim.error(ERR.paramInvalid);
  const link = sim.links[a.id];
  const got = link?.passiveNow === true ? link.read(max) : undefined;
  if (link === undefined || got === undefined) return sim.error(ERR.opError);
  const header = sim.dialect.recvDataHeader(got.bytes.length, sim.dinfo ? { ip: got.ip, port: got.port } : undefined);
  sim.port.write(header, 'response');
  sim.port.write(got.bytes, 'data');
  sim.port.writeLines(['\r\n', '\r\nOK\r\n']);
  if (link.closeDue) {
    link.close();
    if (sim.links[link.id] === link) sim.links[link.id] = undefined;
    sim.port.urc(`${sim.idPrefix(link.id)}CLOSED\r\n`);
  }
}

function ciprecvlen(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'query') return sim.error(ERR.unsupported);
  const fields = [0, 1, 2, 3, 4].map((i) => {
    const l = sim.links[i];
    return l !== undefined && l.passiveNow ? String(l.buffered) : '';
  });
  sim.reply([`+CIPRECVLEN:${fields.join(',')},`]);
}

function ciptcpopt(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') {
    return sim.reply(
      sim.links
        .filter((l): l is EspLink => l !== undefined)
        .map((l) => `+CIPTCPOPT:${l.id},${l.tcpOpt.linger},${l.tcpOpt.nodelay},${l.tcpOpt.sndtimeo},${l.tcpOpt.keepalive}`),
    );
  }
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const a = linkArg(sim, cmd, true);
  if (a === undefined) return sim.error(ERR.paramInvalid);
  const get = (i: number, lo: number, hi: number, cur: number): number | undefined =>
    omitted(cmd, a.next + i) ? cur : intParam(cmd, a.next + i, lo, hi);
  const targets = a.id === 5 ? sim.links.filter((l): l is EspLink => l !== undefined) : [sim.links[a.id]];
  const base = targets[0]?.tcpOpt ?? { linger: -1, nodelay: 0, sndtimeo: 0, keepalive: 0 };
  const linger = get(0, -1, 0x7fffffff, base.linger);
  const nodelay = get(1, 0, 1, base.nodelay);
  const sndtimeo = get(2, 0, 0x7fffffff, base.sndtimeo);
  const keepalive = get(3, 0, 7200, base.keepalive);
  if (linger === undefined || nodelay === undefined || sndtimeo === undefined || keepalive === undefined) return sim.error(ERR.paramInvalid);
  if (targets.some((t) => t === undefined)) return sim.error(ERR.opError);
  for (const t of targets) if (t !== undefined) t.tcpOpt = { linger, nodelay, sndtimeo, keepalive };
  sim.ok();
}

/** The TCP/IP commands by name. */
export const IP_COMMANDS: Readonly<Record<string, EspCommandEntry>> = {
  CIPMUX: { forms: 'qs', run: cipmux },
  CIPSTART: { forms: 'ts', run: (sim, cmd) => cipstart(sim, cmd, false) },
  CIPSTARTEX: { forms: 'ts', espAtOnly: true, run: (sim, cmd) => cipstart(sim, cmd, true) },
  CIPSEND: { forms: 'tse', run: cipsend },
  CIPCLOSE: { forms: 'tse', run: cipclose },
  CIPSTATE: { forms: 'q', espAtOnly: true, run: cipstate },
  CIPSTATUS: { forms: 'e', run: cipstatus },
  CIPDOMAIN: { forms: 's', run: cipdomain },
  CIPSERVER: { forms: 'qs', run: cipserver },
  CIPSERVERMAXCONN: {
    forms: 'qs',
    run: intSetting('CIPSERVERMAXCONN', 1, 5, (sim) => sim.serverMaxConn, (sim, v) => (sim.serverMaxConn = v)),
  },
  CIPDINFO: {
    forms: 'qs',
    run: intSetting('CIPDINFO', 0, 1, (sim) => (sim.dinfo ? 1 : 0), (sim, v) => (sim.dinfo = v === 1), (sim) => `+CIPDINFO:${sim.dinfo ? 'true' : 'false'}`),
  },
  CIPRECVMODE: {
    forms: 'qs',
    run: (sim, cmd) => {
      if (sim.dialect.recvType) return sim.error(ERR.unsupported);
      return intSetting('CIPRECVMODE', 0, 1, (s) => (s.recvPassive ? 1 : 0), (s, v) => {
        s.recvPassive = v === 1;
        for (const l of s.links) setPassive(s, l, v === 1);
      })(sim, cmd);
    },
  },
  CIPRECVTYPE: { forms: 'qs', espAtOnly: true, run: (sim, cmd) => (sim.dialect.recvType ? ciprecvtype(sim, cmd) : sim.error(ERR.unsupported)) },
  CIPRECVDATA: { forms: 's', run: ciprecvdata },
  CIPRECVLEN: { forms: 'q', run: ciprecvlen },
  CIPTCPOPT: { forms: 'qs', espAtOnly: true, run: ciptcpopt },
  CIPMODE: {
    forms: 'qs',
    run: intSetting('CIPMODE', 0, 1, (sim) => sim.cipmode, (sim, v) => (sim.cipmode = v)),
  },
};
