/**
 * Cloud presets for iotnet's MQTT client: each builds the endpoint, TLS settings,
 * identity and topic names of one service from the user's credentials, as plain
 * `MqttClientOptions` plus the service's topic helpers. Pure (no I/O; PEM files are
 * passed on as `{ file }` for the TLS layer to read); tokens that expire are renewed by
 * a password function the client calls before every connect.
 *
 * @module iotnet/cloud
 */
export { awsIotCore, awsShadowTopics, parseAwsShadowTopic, awsBasicIngestTopic, AWS_MQTT_ALPN } from './aws-iot-core.ts';
export type {
  AwsIotCoreOptions,
  AwsIotCoreTopics,
  AwsShadowTopics,
  AwsShadowTopic,
  AwsShadowOperation,
  AwsShadowResult,
} from './aws-iot-core.ts';

export { azureIotHub, azureIotHubTopics, AZURE_IOT_HUB_API_VERSION } from './azure-iot-hub.ts';
export type {
  AzureIotHubOptions,
  AzureIotHubPreset,
  AzureIotHubTopics,
  AzureMethodRequest,
  AzureTwinResponse,
  AzureInboundMessage,
  AzureAuth,
} from './azure-iot-hub.ts';
export { parseAzureConnectionString } from './azure-connection-string.ts';
export type { AzureConnectionString } from './azure-connection-string.ts';
export { azureSasToken, parseAzureSasToken, azureResourceUri, encodeUriComponentStrict } from './azure-sas-token.ts';
export type { AzureSasTokenInput } from './azure-sas-token.ts';
export { encodeAzurePropertyBag, parseAzurePropertyBag } from './azure-property-bag.ts';
export type { AzurePropertyBag } from './azure-property-bag.ts';

export { jwtBroker, jwtBrokerTopics } from './jwt-broker.ts';
export type { JwtBrokerOptions, JwtBrokerPreset, JwtBrokerTopics } from './jwt-broker.ts';
export { signJwt, loadJwtKey } from './jwt.ts';
export type { JwtAlgorithm, JwtClaims, JwtPrivateKey } from './jwt.ts';

export { watsonIot, watsonIotTopics, parseWatsonCommandTopic, WATSON_QUICKSTART_ORG, WATSON_DEFAULT_DOMAIN } from './watson-iot.ts';
export type { WatsonIotOptions, WatsonIotTopics, WatsonCommand } from './watson-iot.ts';

export { pahoOptions, parsePahoServerUri, pahoSslToTls } from './paho-options.ts';
export type { PahoOptions, PahoSslOptions, PahoWillMessage, PahoPem, PahoServer, PahoPreset } from './paho-options.ts';

export type { CloudPreset, PresetCommonOptions, PresetMqttOptions, PresetTlsOptions } from './preset-options.ts';
export type { IssuedToken } from './renewing-token.ts';
export type { WallClock } from './wall-clock.ts';
