/**
 * AWS IoT Core preset: X.509 mutual TLS to the account's data endpoint
 * (`{prefix}-ats.iot.{region}.amazonaws.com`), on 8883, or on 443 with the ALPN protocol
 * `x-amzn-mqtt-ca` (the default endpoint picks the authentication from port and ALPN;
 * 443 without it is MQTT over WebSocket or custom authentication). The client id
 * defaults to the thing name, which thing policies using `iot:Connection.Thing.*`
 * expect. The server certificate chains to Amazon Root CA 1, which is among Node's
 * bundled roots, so no CA needs to be given.
 *
 * Topics: the Device Shadow service's reserved topics for the classic (unnamed) shadow
 * and named shadows, a parser for them, and Basic Ingest (`$aws/rules/{rule}/...`),
 * which sends straight to a rule without the publish/subscribe broker.
 */
import type { PemSource, TlsOptions } from '../../tls/tls-options.ts';
import { type CloudPreset, type PresetCommonOptions, definedOnly, mergeMqtt, mergeTls } from './preset-options.ts';
import { checkHost, checkPattern, checkPort, checkTopicPath, requireString } from './topic-level.ts';

/** The ALPN protocol of X.509 client-certificate MQTT on port 443. */
export const AWS_MQTT_ALPN = 'x-amzn-mqtt-ca';

/**
 * Options of `awsIotCore`: the endpoint (or account prefix and region), the thing name and the device's X.509
 * credentials.
 */
export interface AwsIotCoreOptions extends PresetCommonOptions {
  /**
   * The device data endpoint (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`),
   * e.g. `a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com`; a custom domain or a test
   * broker also works. Alternatively give `accountPrefix` and `region`.
   */
  readonly endpoint?: string;
  /** The account-specific part before `-ats` (with `region`, instead of `endpoint`). */
  readonly accountPrefix?: string;
  /** The AWS Region, e.g. `eu-west-1` (with `accountPrefix`). */
  readonly region?: string;
  /** The thing name: `[a-zA-Z0-9:_-]`, 1 to 128 characters. */
  readonly thingName: string;
  /** MQTT client id (default: the thing name). */
  readonly clientId?: string;
  /** Device certificate (PEM) registered with AWS IoT. */
  readonly cert: PemSource;
  /** Its private key (PEM). */
  readonly key: PemSource;
  /** Passphrase of an encrypted `key`. */
  readonly passphrase?: string;
  /** 8883 (default) or 443; 443 sends the ALPN protocol `x-amzn-mqtt-ca`. Another port needs `alpn` set explicitly. */
  readonly port?: number;
  /** ALPN protocols to offer (default: `['x-amzn-mqtt-ca']` on 443, none otherwise). */
  readonly alpn?: readonly string[];
  /** 4 = MQTT 3.1.1 (default), 5 = MQTT 5; AWS IoT Core supports both. */
  readonly protocolVersion?: 4 | 5;
}

/** The reserved topics of one shadow (classic when `shadowName` is absent). */
export interface AwsShadowTopics {
  /** `$aws/things/{thing}/shadow` or `$aws/things/{thing}/shadow/name/{shadow}`. */
  readonly prefix: string;
  /** Publish here to ask for the shadow. */
  readonly get: string;
  /** The answer to `get`. */
  readonly getAccepted: string;
  /** `get` refused. */
  readonly getRejected: string;
  /** Publish a state update here. */
  readonly update: string;
  /** The update was accepted. */
  readonly updateAccepted: string;
  /** The update was refused. */
  readonly updateRejected: string;
  /** The difference between desired and reported state. */
  readonly updateDelta: string;
  /** The shadow document before and after each update. */
  readonly updateDocuments: string;
  /** Publish here to delete the shadow. */
  readonly delete: string;
  /** The shadow was deleted. */
  readonly deleteAccepted: string;
  /** The delete was refused. */
  readonly deleteRejected: string;
}

/** A device shadow request: `get`, `update` or `delete`. */
export type AwsShadowOperation = 'get' | 'update' | 'delete';
/**
 * A device shadow response topic suffix: `accepted`, `rejected`, `delta` (update only) or `documents` (update only).
 */
export type AwsShadowResult = 'accepted' | 'rejected' | 'delta' | 'documents';

/** A shadow topic taken apart by `parseAwsShadowTopic`. */
export interface AwsShadowTopic {
  /** The thing the topic belongs to. */
  readonly thingName: string;
  /** Absent for the classic shadow. */
  readonly shadowName?: string;
  /** The operation. */
  readonly operation: AwsShadowOperation;
  /** Absent for the request topics (`get`, `update`, `delete`). */
  readonly result?: AwsShadowResult;
}

/** Topic helpers of an AWS IoT Core thing: shadow topics, shadow topic parsing and Basic Ingest. */
export interface AwsIotCoreTopics {
  /** The thing name. */
  readonly thingName: string;
  /** The topics of the classic shadow, or of the named shadow `shadowName`. */
  shadow(shadowName?: string): AwsShadowTopics;
  /** Takes a shadow topic apart (any thing); `undefined` for other topics. */
  parseShadow(topic: string): AwsShadowTopic | undefined;
  /** `$aws/rules/{ruleName}/{topic}`: publish straight to a rule (Basic Ingest). */
  basicIngest(ruleName: string, topic: string): string;
}

const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
const SHADOW_NAME = /^[$a-zA-Z0-9:_-]{1,64}$/;
const RULE_NAME = /^[a-zA-Z0-9_]{1,128}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;
const RESULTS: Readonly<Record<AwsShadowOperation, readonly AwsShadowResult[]>> = {
  get: ['accepted', 'rejected'],
  update: ['accepted', 'rejected', 'delta', 'documents'],
  delete: ['accepted', 'rejected'],
};

/** The topics of one shadow of `thingName` (classic when `shadowName` is absent). */
export function awsShadowTopics(thingName: string, shadowName?: string): AwsShadowTopics {
  checkPattern(thingName, 'thingName', THING_NAME, "1 to 128 characters of 'a-zA-Z0-9:_-'");
  let prefix = `$aws/things/${thingName}/shadow`;
  if (shadowName !== undefined) {
    checkPattern(shadowName, 'shadowName', SHADOW_NAME, "1 to 64 characters of '$a-zA-Z0-9:_-'");
    prefix += `/name/${shadowName}`;
  }
  return {
    prefix,
    get: `${prefix}/get`,
    getAccepted: `${prefix}/get/accepted`,
    getRejected: `${prefix}/get/rejected`,
    update: `${prefix}/update`,
    updateAccepted: `${prefix}/update/accepted`,
    updateRejected: `${prefix}/update/rejected`,
    updateDelta: `${prefix}/update/delta`,
    updateDocuments: `${prefix}/update/documents`,
    delete: `${prefix}/delete`,
    deleteAccepted: `${prefix}/delete/accepted`,
    deleteRejected: `${prefix}/delete/rejected`,
  };
}

/** Takes a Device Shadow topic apart; `undefined` for anything else. Never throws. */
export function parseAwsShadowTopic(topic: string): AwsShadowTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== '$aws' || parts[1] !== 'things' || parts[3] !== 'shadow') return undefined;
  const thingName = parts[2] ?? '';
  if (!THING_NAME.test(thingName)) return undefined;
  let rest = parts.slice(4);
  let shadowName: string | undefined;
  if (rest[0] === 'name') {
    shadowName = rest[1] ?? '';
    if (!SHADOW_NAME.test(shadowName)) return undefined;
    rest = rest.slice(2);
  }
  const op = rest[0];
  if (op !== 'get' && op !== 'update' && op !== 'delete') return undefined;
  if (rest.length > 2) return undefined;
  const result = rest[1];
  if (result !== undefined && !(RESULTS[op] as readonly string[]).includes(result)) return undefined;
  return definedOnly({ thingName, shadowName, operation: op, result: result as AwsShadowResult | undefined }) as AwsShadowTopic;
}

/** `$aws/rules/{ruleName}/{topic}` (Basic Ingest: the message goes to the rule only). */
export function awsBasicIngestTopic(ruleName: string, topic: string): string {
  checkPattern(ruleName, 'ruleName', RULE_NAME, "1 to 128 characters of 'a-zA-Z0-9_'");
  checkTopicPath(topic, 'topic');
  return `$aws/rules/${ruleName}/${topic}`;
}

function endpointOf(o: AwsIotCoreOptions): string {
  if (o.endpoint !== undefined) {
    if (o.accountPrefix !== undefined || o.region !== undefined) {
      throw new TypeError('give either endpoint or accountPrefix with region, not both');
    }
    return checkHost(o.endpoint, 'endpoint');
  }
  if (o.accountPrefix === undefined || o.region === undefined) {
    throw new TypeError('AWS IoT Core needs endpoint (from describe-endpoint iot:Data-ATS), or accountPrefix and region');
  }
  checkPattern(o.accountPrefix, 'accountPrefix', /^[a-z0-9]+$/, 'lower-case letters and digits (the part before "-ats")');
  const region = checkPattern(o.region, 'region', REGION, 'an AWS Region code like "eu-west-1"');
  if (region.startsWith('cn-')) {
    throw new RangeError(`region ${region}: China Regions use other domains; pass the endpoint from describe-endpoint instead`);
  }
  return `${o.accountPrefix}-ats.iot.${region}.amazonaws.com`;
}

/** Client options and topic helpers for a device (thing) on AWS IoT Core. */
export function awsIotCore(o: AwsIotCoreOptions): CloudPreset<AwsIotCoreTopics> {
  const host = endpointOf(o);
  const thingName = checkPattern(o.thingName, 'thingName', THING_NAME, "1 to 128 characters of 'a-zA-Z0-9:_-'");
  const clientId = o.clientId === undefined ? thingName : requireString(o.clientId, 'clientId');
  if (o.cert === undefined || o.key === undefined) {
    throw new TypeError('AWS IoT Core authenticates devices by X.509 certificate: cert and key are required');
  }
  const port = o.port === undefined ? 8883 : checkPort(o.port, 'port');
  const alpn = o.alpn ?? (port === 443 ? [AWS_MQTT_ALPN] : undefined);
  if (o.protocolVersion !== undefined && o.protocolVersion !== 4 && o.protocolVersion !== 5) {
    throw new RangeError(`protocolVersion must be 4 (MQTT 3.1.1) or 5, got ${String(o.protocolVersion)}`);
  }
  const tls: TlsOptions = mergeTls(definedOnly({ cert: o.cert, key: o.key, passphrase: o.passphrase, alpn }), o.tls);
  const options = mergeMqtt(
    { host, port, tls, clientId, protocolVersion: o.protocolVersion ?? 4 },
    o.mqtt,
  );
  const topics: AwsIotCoreTopics = {
    thingName,
    shadow: (shadowName) => awsShadowTopics(thingName, shadowName),
    parseShadow: parseAwsShadowTopic,
    basicIngest: awsBasicIngestTopic,
  };
  return { options, topics };
}
