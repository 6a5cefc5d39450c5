import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import { loadOrCreateKeyring } from './keyring';

/** Path of the failure converter module, for workers and workflow bundles. */
export const failureConverterPath = require.resolve('./failure-converter');

/**
 * The one data converter every ssw worker and client uses: payloads and
 * failure details encrypted with the management machine's key.
 */
export function encryptedDataConverter(payloadKeyFile: string): DataConverter {
  return {
    payloadCodecs: [new AesGcmPayloadCodec(loadOrCreateKeyring(payloadKeyFile))],
    failureConverterPath,
  };
}
