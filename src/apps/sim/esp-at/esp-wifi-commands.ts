/**
 * Wi-Fi commands (reference §1.4): `AT+CWMODE`, `AT+CWJAP` (set, exec, query; codes 1-4, `FAIL`
 * vs `ERROR`, URC order, join timeout), `AT+CWQAP`, `AT+CWLAP`, `AT+CWLAPOPT`, `AT+CWSTATE?`,
 * `AT+CWAUTOCONN`, `AT+CIPSTA`, `AT+CIFSR`, `AT+CWDHCP` (order reversed on NONOS), `AT+CIPDNS`.
 * NONOS spells the configuration ones `_CUR`/`_DEF`.
 */
import type { EspAtSim } from './esp-at-sim.ts';
import { ERR, intParam, omitted, strParam, type EspCommand, type EspCommandEntry } from './esp-command.ts';

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Whether a command form stores to flash: `_DEF`, or plain ones with `AT+SYSSTORE=1`. */
function persists(sim: EspAtSim, cmd: EspCommand): boolean {
  return cmd.suffix === '_DEF' || (cmd.suffix === '' && sim.sysstore);
}

function cwmode(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') return sim.reply([`+${cmd.name}:${sim.wifi.mode}`]);
  if (cmd.form === 'test') return sim.reply([`+${cmd.name}:(0-3)`]);
  const m = intParam(cmd, 0, sim.dialect.name === 'nonos' ? 1 : 0, 3);
  if (cmd.form !== 'set' || m === undefined || cmd.params.length > 2) return sim.error(ERR.paramInvalid);
  const was = sim.wifi.mode;
  sim.wifi.mode = m;
  if ((was & 1) !== 0 && (m & 1) === 0 && sim.wifi.current !== undefined) {
    sim.ok();
    sim.wifiDown(true);
    sim.wifi.current = undefined;
    sim.wifi.state = 0;
    return;
  }
  sim.ok();
}

async function cwjap(sim: EspAtSim, cmd: EspCommand): Promise<void> {
  const wifi = sim.wifi;
  if (cmd.form === 'query') {
    const ap = wifi.current;
    if (ap === undefined || wifi.state !== 2) return sim.reply(['No AP']);
    const extra = sim.dialect.name === 'esp-at' ? ',0,0,0,0,0' : '';
    return sim.reply([`+${cmd.name}:"${ap.ssid}","${ap.bssid}",${ap.channel},${ap.rssi}${extra}`]);
  }
  if (cmd.form === 'test') return sim.ok();
  let ssid: string;
  let password: string;
  let bssid: string | undefined;
  let timeoutMs = sim.timing.cwjapTimeoutMs;
  if (cmd.form === 'exec') {
    if (sim.dialect.name === 'nonos' || wifi.stored === undefined) return sim.error(ERR.paramInvalid);
    ({ ssid, password } = wifi.stored);
  } else {
    const s = strParam(cmd, 0, 32);
    const p = omitted(cmd, 1) ? '' : strParam(cmd, 1, 64);
    if (s === undefined || p === undefined || s === '') return sim.error(ERR.paramInvalid);
    ssid = s;
    password = p;
    if (!omitted(cmd, 2)) {
      bssid = strParam(cmd, 2, 17);
      if (bssid === undefined) return sim.error(ERR.paramInvalid);
    }
    if (sim.dialect.name === 'esp-at' && !omitted(cmd, 7)) {
      const t = intParam(cmd, 7, 3, 600);
      if (t === undefined) return sim.error(ERR.paramInvalid);
      timeoutMs = t * 1000;
    } else if (cmd.params.length > 3 && sim.dialect.name === 'nonos') {
      return sim.error(ERR.paramCount);
    }
  }
  if ((wifi.mode & 1) === 0) return sim.error(ERR.opError);
  if (wifi.state === 1 || wifi.state === 2) sim.wifiDown(true);
  wifi.state = 3;
  const outcome = wifi.join(ssid, password, bssid);
  const gen = sim.generation;
  await sim.port.sleep(!outcome.ok && outcome.code === 1 ? timeoutMs : sim.timing.cwjapMs);
  if (gen !== sim.generation) return;
  if (outcome.ok) {
    wifi.current = outcome.ap;
    wifi.state = 2;
    if (persists(sim, cmd)) wifi.stored = { ssid, password };
    sim.port.writeLines(['WIFI CONNECTED\r\n', 'WIFI GOT IP\r\n', '\r\nOK\r\n']);
    return;
  }
  wifi.state = 4;
  wifi.current = undefined;
  sim.stats.errors++;
  sim.port.writeLines([`+CWJAP:${outcome.code}\r\n`, `\r\n${sim.dialect.cwjapFailFinal}\r\n`]);
}

function cwqap(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'test') return sim.ok();
  if (cmd.form !== 'exec') return sim.error(ERR.unsupported);
  sim.ok();
  sim.wifiDown(true);
  sim.wifi.current = undefined;
  sim.wifi.state = sim.dialect.name === 'esp-at' ? 0 : 4;
}

async function cwlap(sim: EspAtSim, cmd: EspCommand): Promise<void> {
  if (cmd.form === 'test') return sim.ok();
  if (cmd.form === 'query') return sim.error(ERR.unsupported);
  let ssid: string | undefined;
  if (cmd.form === 'set') {
    ssid = strParam(cmd, 0, 32);
    if (ssid === undefined) return sim.error(ERR.paramInvalid);
  }
  if ((sim.wifi.mode & 1) === 0) return sim.error(ERR.opError);
  const gen = sim.generation;
  await sim.port.sleep(sim.timing.cwlapMs);
  if (gen !== sim.generation) return;
  sim.reply(sim.wifi.scan(sim.dialect.cwlapFields, ssid).map((e) => `+CWLAP:${e}`));
}

function cwlapopt(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'set') return cmd.form === 'test' ? sim.ok() : sim.error(ERR.unsupported);
  const sort = intParam(cmd, 0, 0, 1);
  const mask = intParam(cmd, 1, 0, 0x7ff);
  if (sort === undefined || mask === undefined) return sim.error(ERR.paramInvalid);
  sim.wifi.lapSort = sort;
  sim.wifi.lapMask = mask;
  sim.ok();
}

function cwstate(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form !== 'query') return sim.error(ERR.unsupported);
  const ssid = sim.wifi.current?.ssid ?? '';
  sim.reply([`+CWSTATE:${sim.wifi.state},"${ssid}"`]);
}

function cwautoconn(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') return sim.reply([`+CWAUTOCONN:${sim.wifi.autoConnect ? 1 : 0}`]);
  const v = intParam(cmd, 0, 0, 1);
  if (cmd.form !== 'set' || v === undefined) return sim.error(ERR.paramInvalid);
  sim.wifi.autoConnect = v === 1;
  sim.ok();
}

function cipsta(sim: EspAtSim, cmd: EspCommand): void {
  const wifi = sim.wifi;
  if (cmd.form === 'query') {
    const up = wifi.up;
    const st = wifi.station;
    const n = cmd.name;
    return sim.reply([
      `+${n}:ip:"${up ? st.ip : '0.0.0.0'}"`,
      `+${n}:gateway:"${up ? st.gateway : '0.0.0.0'}"`,
      `+${n}:netmask:"${up ? st.netmask : '0.0.0.0'}"`,
    ]);
  }
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const ip = strParam(cmd, 0, 15);
  const gw = omitted(cmd, 1) ? wifi.station.gateway : strParam(cmd, 1, 15);
  const mask = omitted(cmd, 2) ? wifi.station.netmask : strParam(cmd, 2, 15);
  if (ip === undefined || gw === undefined || mask === undefined || ![ip, gw, mask].every((a) => IPV4.test(a))) {
    return sim.error(ERR.paramInvalid);
  }
  wifi.station = { ...wifi.station, ip, gateway: gw, netmask: mask };
  wifi.dhcp &= ~1;
  sim.ok();
}

function cifsr(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'test') return sim.ok();
  if (cmd.form !== 'exec') return sim.error(ERR.unsupported);
  const lines: string[] = [];
  if ((sim.wifi.mode & 2) !== 0) lines.push('+CIFSR:APIP,"192.168.4.1"', '+CIFSR:APMAC,"1a:fe:34:00:00:01"');
  if ((sim.wifi.mode & 1) !== 0) {
    lines.push(`+CIFSR:STAIP,"${sim.wifi.ip}"`, `+CIFSR:STAMAC,"${sim.wifi.station.mac ?? '18:fe:34:00:00:01'}"`);
  }
  sim.reply(lines);
}

function cwdhcp(sim: EspAtSim, cmd: EspCommand): void {
  if (cmd.form === 'query') return sim.reply([`+${cmd.name}:${sim.wifi.dhcp}`]);
  if (cmd.form !== 'set' || cmd.params.length !== 2) return sim.error(ERR.paramCount);
  if (sim.dialect.name === 'nonos') {
    // NONOS: <mode 0 softAP/1 station/2 both>,<en> — the reverse of ESP-AT's order.
    const mode = intParam(cmd, 0, 0, 2);
    const en = intParam(cmd, 1, 0, 1);
    if (mode === undefined || en === undefined) return sim.error(ERR.paramInvalid);
    const bits = mode === 0 ? 2 : mode === 1 ? 1 : 3;
    sim.wifi.dhcp = en === 1 ? sim.wifi.dhcp | bits : sim.wifi.dhcp & ~bits;
  } else {
    const op = intParam(cmd, 0, 0, 1);
    const bits = intParam(cmd, 1, 0, 3);
    if (op === undefined || bits === undefined) return sim.error(ERR.paramInvalid);
    sim.wifi.dhcp = op === 1 ? sim.wifi.dhcp | bits : sim.wifi.dhcp & ~bits;
  }
  sim.ok();
}

function cipdns(sim: EspAtSim, cmd: EspCommand): void {
  const wifi = sim.wifi;
  if (cmd.form === 'query') {
    if (sim.dialect.name === 'nonos') return sim.reply(wifi.dnsServers.map((d) => `+${cmd.name}:${d}`));
    return sim.reply([`+CIPDNS:${wifi.dnsEnabled}${wifi.dnsServers.map((d) => `,"${d}"`).join('')}`]);
  }
  if (cmd.form !== 'set') return sim.error(ERR.unsupported);
  const en = intParam(cmd, 0, 0, 1);
  if (en === undefined || cmd.params.length > 4) return sim.error(ERR.paramInvalid);
  const servers: string[] = [];
  for (let i = 1; i < cmd.params.length; i++) {
    const s = strParam(cmd, i, 15);
    if (s === undefined || !IPV4.test(s)) return sim.error(ERR.paramInvalid);
    servers.push(s);
  }
  wifi.dnsEnabled = en;
  if (en === 1 && servers.length > 0) wifi.dnsServers = servers;
  if (en === 0) wifi.dnsServers = [...(wifi.station.dns ?? ['208.67.222.222'])];
  sim.ok();
}

/** The Wi-Fi commands by name. */
export const WIFI_COMMANDS: Readonly<Record<string, EspCommandEntry>> = {
  CWMODE: { forms: 'tqs', curDef: true, plainOnNonos: true, run: cwmode },
  CWJAP: { forms: 'tqse', curDef: true, plainOnNonos: true, run: cwjap },
  CWQAP: { forms: 'te', run: cwqap },
  CWLAP: { forms: 'tse', run: cwlap },
  CWLAPOPT: { forms: 's', run: cwlapopt },
  CWSTATE: { forms: 'q', espAtOnly: true, run: cwstate },
  CWAUTOCONN: { forms: 'qs', run: cwautoconn },
  CIPSTA: { forms: 'qs', curDef: true, run: cipsta },
  CIFSR: { forms: 'te', run: cifsr },
  CWDHCP: { forms: 'qs', curDef: true, run: cwdhcp },
  CIPDNS: { forms: 'qs', curDef: true, run: cipdns },
};


