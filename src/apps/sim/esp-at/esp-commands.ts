/**
 * The ESP-AT simulator's whole command table: basic, Wi-Fi and TCP/IP commands by name
 * (without `_CUR`/`_DEF`; `EspAtSim` applies the dialect's naming).
 */
import { BASIC_COMMANDS } from './esp-basic-commands.ts';
import type { EspCommandEntry } from './esp-command.ts';
import { IP_COMMANDS } from './esp-ip-commands.ts';
import { WIFI_COMMANDS } from './esp-wifi-commands.ts';

/** Every command by name. */
export const ESP_COMMANDS: Readonly<Record<string, EspCommandEntry>> = { ...BASIC_COMMANDS, ...WIFI_COMMANDS, ...IP_COMMANDS };
