import { parseExactJson } from './exact-json';

describe('parseExactJson', () => {
  it.each([
    { text: '9007199254740993', value: 9_007_199_254_740_993n },
    { text: '9223372036854775807', value: 9_223_372_036_854_775_807n },
    { text: '-9223372036854775808', value: -9_223_372_036_854_775_808n },
    { text: '123456789012345678901234567890', value: 123_456_789_012_345_678_901_234_567_890n },
    { text: '9007199254740991', value: 9_007_199_254_740_991 },
    { text: '-9007199254740991', value: -9_007_199_254_740_991 },
    { text: '42', value: 42 },
    { text: '0', value: 0 },
    { text: '1.5', value: 1.5 },
    { text: '1e3', value: 1000 },
    { text: '12345678901234567.5', value: 12345678901234567.5 },
    { text: '1.2345678901234567e30', value: 1.2345678901234567e30 },
    { text: '{"version":1700000000123456789,"n":1,"f":0.25}', value: { version: 1_700_000_000_123_456_789n, n: 1, f: 0.25 } },
    { text: '[9007199254740992, 9007199254740991]', value: [9_007_199_254_740_992n, 9_007_199_254_740_991] },
    { text: '{"a":[{"b":18446744073709551615}]}', value: { a: [{ b: 18_446_744_073_709_551_615n }] } },
    { text: '{"id":"12345678901234567890"}', value: { id: '12345678901234567890' } },
    { text: '{"s":"x","t":true,"n":null}', value: { s: 'x', t: true, n: null } },
  ])('parses $text exactly', ({ text, value }) => {
    const parsed = parseExactJson(text);
    expect(parsed).toEqual(value);
    expect(typeof parsed).toBe(typeof value);
  });

  it.each([
    { text: '{"s":"id 12345678901234567890 in a string","n":12345678901234567890}', value: { s: 'id 12345678901234567890 in a string', n: 12_345_678_901_234_567_890n } },
    { text: '{"s":"quote \\" then 12345678901234567890","n":-12345678901234567890}', value: { s: 'quote " then 12345678901234567890', n: -12_345_678_901_234_567_890n } },
    { text: '{"m":"\\u0001\\u00029","n":12345678901234567890}', value: { m: '\u0001\u00029', n: 12_345_678_901_234_567_890n } },
    { text: '["\\u0001\\u000212345678901234567890"]', value: ['\u0001\u000212345678901234567890'] },
  ])('leaves strings alone, even ones that look like its marker: $text', ({ text, value }) => {
    expect(parseExactJson(text)).toEqual(value);
  });

  it.each(['[0012345678901234567890]', '{"a":-012345678901234567890}'])('still rejects invalid number literals %p', (text) => {
    expect(() => parseExactJson(text)).toThrow();
  });

  it('keeps small integers as numbers next to big ones', () => {
    const parsed = parseExactJson('{"big":9007199254740993,"small":7}') as { big: unknown; small: unknown };
    expect([typeof parsed.big, typeof parsed.small]).toEqual(['bigint', 'number']);
  });

  it.each(['', '{', '{"a":', '{"a":1,}', "{'a':1}", 'abc', '[1 2]', '{"a":12345678901234567', '{"a":12345678901234567,}', '12345678901234567 x'])(
    'throws on invalid JSON %p',
    (text) => {
      expect(() => parseExactJson(text)).toThrow();
    },
  );
});

