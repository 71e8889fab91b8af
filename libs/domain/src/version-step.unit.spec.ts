import { VERSION_STEP, nextVersionStep, versionFromClient } from './version-step';

/** What a client that parses with JSON.parse and writes with JSON.stringify sends back. */
const throughJavaScript = (version: bigint) => BigInt(JSON.stringify(JSON.parse(version.toString())));

describe('versionFromClient', () => {
  it.each([
    { sent: 0n, read: 0n },
    { sent: 1024n, read: 1024n },
    { sent: 1024n + 511n, read: 1024n },
    { sent: 1024n + 512n, read: 1024n }, // a tie goes down: never above a change the client has not seen
    { sent: 1024n + 513n, read: 2048n },
    { sent: 2048n - 128n, read: 2048n },
    { sent: 9_223_372_036_854_775_807n, read: 9_223_372_036_854_775_808n - 1024n },
  ])('reads $sent as $read', ({ sent, read }) => {
    expect(versionFromClient(sent)).toBe(read);
  });

  const multiplesFrom = (start: bigint, count: number) =>
    Array.from({ length: count }, (_, i) => start - (start % VERSION_STEP) + BigInt(i) * VERSION_STEP);

  it.each([
    { range: "today's values", start: 1_795_641_817_742_084_096n },
    { range: 'just below 2^61', start: 2n ** 61n - 500n * 1024n },
    { range: 'just below 2^62', start: 2n ** 62n - 1000n * 1024n },
  ])('recovers exactly every multiple of 1024 a JavaScript client sends back: $range', ({ start }) => {
    const recovered = multiplesFrom(start, 1000).filter((version) => versionFromClient(throughJavaScript(version)) === version);
    expect(recovered).toHaveLength(1000);
  });

  it('from 2^62 to int64 max never reads a version above the one the client saw, and at most one step below', () => {
    for (const start of [2n ** 62n, 9_223_372_036_854_775_807n - 1000n * 1024n]) {
      for (const version of multiplesFrom(start, 1000)) {
        const read = versionFromClient(throughJavaScript(version));
        expect(version - read === 0n || version - read === VERSION_STEP).toBe(true);
      }
    }
  });

  it('multiples of 1024 survive a double exactly (the answer the client parses holds the exact value)', () => {
    const version = 1_795_641_817_742_084_096n;
    expect(BigInt(Number(version))).toBe(version);
    expect(version % VERSION_STEP).toBe(0n);
  });
});

describe('nextVersionStep', () => {
  it.each([
    { value: 0n, next: 1024n },
    { value: 1n, next: 1024n },
    { value: 1023n, next: 1024n },
    { value: 1024n, next: 2048n },
    { value: 1_795_641_817_742_084_857n, next: 1_795_641_817_742_085_120n },
  ])('the step above $value is $next', ({ value, next }) => {
    expect(nextVersionStep(value)).toBe(next);
  });
});
