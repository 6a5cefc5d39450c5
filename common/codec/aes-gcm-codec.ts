import * as crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, Payload, PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Keyring } from './keyring';

export const ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload that is not encrypted, where only encrypted ones are accepted. */
export class UnencryptedPayloadError extends ValueError {}

export interface AesGcmCodecOptions {
  /**
   * What decode does with a payload that is not encrypted. 'refuse' (workers
   * and the CLI): throw UnencryptedPayloadError, since a plaintext input came
   * from something that does not hold the key. 'pass': hand it back as it is
   * (the codec server, which only shows payloads to the Web UI).
   * @default 'refuse'
   */
  plaintext?: 'refuse' | 'pass';
}

/**
 * AES-256-GCM over whole serialized payloads (metadata included, so even the
 * encoding of a value is hidden). Output: iv | ciphertext | tag, with the
 * key id in clear metadata so rotated keys still decrypt.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(
    private readonly keyring: Keyring,
    private readonly options: AesGcmCodecOptions = {},
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const { id, key } = this.keyring.current;
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCODING),
          [METADATA_KEY_ID]: Buffer.from(id),
        },
        data: body,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || Buffer.from(encoding).toString() !== ENCODING) {
        if (this.options.plaintext === 'pass') return payload;
        throw new UnencryptedPayloadError("its payload is not encrypted with this machine's payload key");
      }
      const keyIdBytes = payload.metadata?.[METADATA_KEY_ID];
      if (!keyIdBytes) throw new ValueError('Encrypted payload has no key id');
      const keyId = Buffer.from(keyIdBytes).toString();
      const entry = this.keyring.all.get(keyId);
      if (!entry) {
        throw new ValueError(`Payload was encrypted with key ${keyId}, which is not in this machine's payload.key`);
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('Encrypted payload is truncated');
      const decipher = crypto.createDecipheriv('aes-256-gcm', entry.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
