/**
 * The simulated module's Wi-Fi side: the access points in range, the station's state and
 * addresses, the stored (flash) configuration, and the text of the scan list (`AT+CWLAP` with
 * `AT+CWLAPOPT`, 11- or 7-field entries, reference §1.4). Pure state; the simulator drives the
 * timing and the URCs.
 */

/** An access point in range. */
export interface EspAp {
  /** The AP's SSID. */
  ssid: string;
  /** The AP's passphrase (empty for an open network). */
  password: string;
  /** `aa:bb:cc:dd:ee:ff`. */
  bssid: string;
  /** Signal strength in dBm. */
  rssi: number;
  /** Wi-Fi channel. */
  channel: number;
  /** 0 open, 1 WEP, 2 WPA, 3 WPA2, 4 WPA/WPA2, 5 WPA2-ENT, 6 WPA3, 7 WPA2/WPA3. */
  ecn: number;
  /** Force a join outcome: 1 timeout (no answer within the join timeout), 4 refused. */
  fail?: 1 | 4 | undefined;
}

/** The station's addresses as the module reports them (`AT+CIPSTA?`, `AT+CIFSR`). */
export interface EspStation {
  /** Station IPv4 address. */
  ip: string;
  /** Gateway address. */
  gateway: string;
  /** Netmask. */
  netmask: string;
  /** DNS servers (`AT+CIPDNS?`). */
  dns?: readonly string[] | undefined;
  /** Station MAC (`AT+CIFSR`). */
  mac?: string | undefined;
}

/** The `+CWSTATE` numbers: 0 not started, 1 connected without IPv4, 2 got IPv4, 3 connecting, 4 disconnected. */
export type WifiState = 0 | 1 | 2 | 3 | 4;

/** `+CWJAP:<code>`: 1 timeout, 2 wrong password, 3 AP not found, 4 failed. */
export type JoinCode = 1 | 2 | 3 | 4;

/** What a join attempt gives. */
export type JoinOutcome = { ok: true; ap: EspAp } | { ok: false; code: JoinCode };

const CWLAP_ALL = 0x7ff;

/** The Wi-Fi state of one simulated module. */
export class EspWifiModel {
  aps: EspAp[];
  station: EspStation;
  /** `AT+CWMODE`: 0 off, 1 station, 2 softAP, 3 both. */
  mode = 1;
  state: WifiState = 0;
  /** The AP joined (or being joined). */
  current: EspAp | undefined;
  /** Saved in flash (`AT+SYSSTORE=1` / `_DEF`): joined again at boot when `autoConnect`. */
  stored: { ssid: string; password: string } | undefined;
  autoConnect = true;
  /** The radio can reach the APs (false between `apLoss()` and `apRestore()`). */
  inRange = true;
  /** `AT+CWLAPOPT`: sort by RSSI, field mask. */
  lapSort = 0;
  lapMask = CWLAP_ALL;
  /** DHCP bits (bit 0 station, bit 1 softAP). */
  dhcp = 3;
  dnsEnabled = 0;
  dnsServers: string[];

  constructor(aps: readonly EspAp[], station: EspStation) {
    this.aps = aps.map((a) => ({ ...a }));
    this.station = { ...station };
    this.dnsServers = [...(station.dns ?? ['208.67.222.222'])];
  }

  /** Has an IPv4 address (sockets may open). */
  get up(): boolean {
    return this.state === 2;
  }

  /** The outcome of joining `ssid` with `password` (and `bssid` when given). */
  join(ssid: string, password: string, bssid?: string): JoinOutcome {
    if (!this.inRange) return { ok: false, code: 3 };
    const ap = this.aps.find((a) => a.ssid === ssid && (bssid === undefined || a.bssid.toLowerCase() === bssid.toLowerCase()));
    if (ap === undefined) return { ok: false, code: 3 };
    if (ap.fail !== undefined) return { ok: false, code: ap.fail };
    if (ap.ecn !== 0 && ap.password !== password) return { ok: false, code: 2 };
    return { ok: true, ap };
  }

  /** Back to the boot state (flash contents kept). */
  reset(): void {
    this.state = 0;
    this.current = undefined;
  }

  /** `AT+RESTORE`: factory settings. */
  restore(): void {
    this.reset();
    this.stored = undefined;
    this.autoConnect = true;
    this.mode = 1;
    this.lapSort = 0;
    this.lapMask = CWLAP_ALL;
    this.dhcp = 3;
  }

  /** The IP the module reports: the station's when it has one, else `0.0.0.0`. */
  get ip(): string {
    return this.up ? this.station.ip : '0.0.0.0';
  }

  /** The `AT+CWLAP` entries (without the `+CWLAP:` prefix), filtered by `ssid` when given. */
  scan(fields: 7 | 11, ssid?: string): string[] {
    if (!this.inRange) return [];
    let aps = this.aps.filter((a) => ssid === undefined || a.ssid === ssid);
    if (this.lapSort === 1) aps = [...aps].sort((a, b) => b.rssi - a.rssi);
    return aps.map((a) => {
      const all = [
        String(a.ecn),
        `"${a.ssid}"`,
        String(a.rssi),
        `"${a.bssid}"`,
        String(a.channel),
        '0', // freq_offset
        '0', // freqcal_val
        '4', // pairwise cipher: CCMP
        '4', // group cipher: CCMP
        '7', // b/g/n
        '0', // wps
      ].slice(0, fields);
      const picked = all.filter((_, i) => (this.lapMask & (1 << i)) !== 0);
      return `(${picked.join(',')})`;
    });
  }
}
