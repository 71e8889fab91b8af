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

  it.each([
    { text: '9007199254740992', value: 9_007_199_254_740_992n },
    { text: '-9007199254740992', value: -9_007_199_254_740_992n },
    { text: '-9007199254740993', value: -9_007_199_254_740_993n },
    { text: '1000000000000000', value: 1_000_000_000_000_000 },
    { text: '-1000000000000000', value: -1_000_000_000_000_000 },
    { text: '0000000000000000', value: undefined },
    { text: '99999999999999999999999999999999999999999999999999', value: 99_999_999_999_999_999_999_999_999_999_999_999_999_999_999_999_999n },
    { text: '-99999999999999999999999999999999999999999999999999', value: -99_999_999_999_999_999_999_999_999_999_999_999_999_999_999_999_999n },
  ])('is exact on both sides of 2^53: $text', ({ text, value }) => {
    if (value === undefined) expect(() => parseExactJson(text)).toThrow();
    else expect(parseExactJson(text)).toBe(value);
  });

  it('keeps -0 a number (-0), alone and next to a big integer', () => {
    expect(Object.is(parseExactJson('-0'), -0)).toBe(true);
    const parsed = parseExactJson('[-0, 9007199254740993, -0.0]') as unknown[];
    expect(parsed[1]).toBe(9_007_199_254_740_993n);
    expect([Object.is(parsed[0], -0), Object.is(parsed[2], -0)]).toEqual([true, true]);
  });

  it.each([
    { text: '{"a":1.12345678901234567890,"b":9007199254740993}', value: { a: 1.1234567890123457, b: 9_007_199_254_740_993n } },
    { text: '[0.12345678901234567890]', value: [0.12345678901234568] },
    { text: '[12345678901234567890.5]', value: [12345678901234567890.5] },
    { text: '[1e-12345678901234567890, 1E+1234567890123456789]', value: [0, Infinity] },
    { text: '[9007199254740993e0, 9007199254740993E2, 9007199254740993.0]', value: [9007199254740993e0, 9007199254740993e2, 9007199254740993.0] },
    { text: '[1.5e300, -2E-5, 12345678901234567890e-3]', value: [1.5e300, -2e-5, 12345678901234567890e-3] },
  ])('leaves fractions and exponents doubles, whatever their digits: $text', ({ text, value }) => {
    expect(parseExactJson(text)).toEqual(value);
  });

  it.each([
    { text: '{"s":"\\\\\\\\","n":12345678901234567890}', value: { s: '\\\\', n: 12_345_678_901_234_567_890n } },
    { text: '{"s":"\\\\\\\\\\"12345678901234567890","n":12345678901234567891}', value: { s: '\\\\"12345678901234567890', n: 12_345_678_901_234_567_891n } },
    { text: ' {\n\t"n" :\r 12345678901234567890 , "m": [ -12345678901234567891 ]\n} ', value: { n: 12_345_678_901_234_567_890n, m: [-12_345_678_901_234_567_891n] } },
    { text: '{"12345678901234567890":12345678901234567890}', value: { '12345678901234567890': 12_345_678_901_234_567_890n } },
    {
      text: '{"a":{"b":[1,{"c":12345678901234567890}]},"d":[[18446744073709551616]],"e":"x","f":-18446744073709551617}',
      value: { a: { b: [1, { c: 12_345_678_901_234_567_890n }] }, d: [[18_446_744_073_709_551_616n]], e: 'x', f: -18_446_744_073_709_551_617n },
    },
  ])('finds every unsafe integer outside strings: $text', ({ text, value }) => {
    expect(parseExactJson(text)).toEqual(value);
  });

  it.each(['{12345678901234567890:1}', '{"a":1,12345678901234567890 :2}', '[12345678901234567890:1]', '[1.12345678901234567890.5]', '["a"12345678901234567890]', '[12345678901234567890'])(
    'does not make invalid JSON valid by quoting a literal: %p',
    (text) => {
      expect(() => parseExactJson(text)).toThrow();
    },
  );

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

