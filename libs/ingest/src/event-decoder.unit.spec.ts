import { decodeRecord } from './event-decoder';

const message = (extra: string) =>
  Buffer.from(
    `{"type":"message","message_id":9223372036854775807,"message_seq":1,"from_uid":"a","channel_id":"b","channel_type":1,"timestamp":0,"payload":"aGk="${extra}}`,
  );

describe('decodeRecord', () => {
  it('keeps a bare int64 message_id exact', () => {
    const decoded = decodeRecord(message(''));
    expect(decoded.ok && decoded.event.type === 'message' && decoded.event.message_id).toBe(9_223_372_036_854_775_807n);
  });

  it('accepts an event whose unknown field is a double with 16+ digits (no dead letter)', () => {
    const decoded = decodeRecord(message(',"score":0.12345678901234567890,"ratio":1.5e-12345678901234567'));
    expect(decoded.ok && decoded.event.type === 'message' && decoded.event.message_id).toBe(9_223_372_036_854_775_807n);
  });

  it('dead-letters a 16+-digit literal used as a key: that is not JSON', () => {
    expect(decodeRecord(message(',12345678901234567890:1'))).toEqual({ ok: false, reason: 'value: not valid JSON' });
  });
});
