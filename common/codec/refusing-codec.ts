import { defaultPayloadConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { REFUSED_FIELD, type RefusedPayloadValue } from './refusal';

/**
 * A worker's codec: decodes with `inner`, and turns every payload `inner`
 * refuses (plaintext, a key this machine lacks, tampered ciphertext) into a
 * refusal value instead of an exception (see ./refusal for why). Encoding is
 * `inner`'s, unchanged.
 */
export class RefusingCodec implements PayloadCodec {
  constructor(private readonly inner: PayloadCodec) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.inner.encode(payloads);
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (p) => {
        try {
          const [decoded] = await this.inner.decode([p]);
          return decoded!;
        } catch (err) {
          const value: RefusedPayloadValue = { [REFUSED_FIELD]: (err as Error).message };
          return defaultPayloadConverter.toPayload(value);
        }
      }),
    );
  }
}
