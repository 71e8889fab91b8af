import { VERSION_STEP, allocateVersions, nextVersionStep, reportedVersion, versionFromClient, versionStepAtOrBelow } from './version-step';

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

describe('allocateVersions', () => {
  it.each([
    { case: 'the clock is ahead of the partition', floors: [1_000n, 1_000n, 5_000n], count: 3, versions: [5_120n, 6_144n, 7_168n] },
    { case: 'the clock is behind the last version (it stepped back)', floors: [10_240n, 0n, 5_000n], count: 2, versions: [11_264n, 12_288n] },
    { case: 'the closer closed the partition above its last version', floors: [2_048n, 8_192n, 4_000n], count: 1, versions: [9_216n] },
    { case: 'what this process wrote before a failed commit is above the rest', floors: [1_024n, 1_024n, 1_024n, 20_480n], count: 1, versions: [21_504n] },
    { case: 'a floor that is itself a multiple is not handed out again', floors: [4_096n], count: 1, versions: [5_120n] },
    { case: 'a floor from before the steps (not a multiple)', floors: [1_795_641_817_742_084_857n], count: 1, versions: [1_795_641_817_742_085_120n] },
    { case: 'no events', floors: [4_096n], count: 0, versions: [] },
  ])('$case', ({ floors, count, versions }) => {
    expect(allocateVersions(floors, count)).toEqual(versions);
  });

  it('hands out only multiples of 1024, strictly increasing, batch after batch', () => {
    let last = 0n;
    for (let batch = 0; batch < 50; batch++) {
      const versions = allocateVersions([last, BigInt(batch * 700)], 7);
      for (const version of versions) {
        expect(version % VERSION_STEP).toBe(0n);
        expect(version).toBeGreaterThan(last);
        last = version;
      }
    }
  });
});

describe('versionStepAtOrBelow', () => {
  it.each([
    { value: 0n, step: 0n },
    { value: 1023n, step: 0n },
    { value: 1024n, step: 1024n },
    { value: 1_795_641_817_742_084_857n, step: 1_795_641_817_742_084_096n },
  ])('$value -> $step', ({ value, step }) => {
    expect(versionStepAtOrBelow(value)).toBe(step);
  });
});

describe('reportedVersion (the clamp to the frontier W)', () => {
  it.each([
    { case: 'below W: its own version', version: 4_096n, frontier: 8_192n, reported: 4_096n },
    { case: 'at W: its own version', version: 8_192n, frontier: 8_192n, reported: 8_192n },
    { case: 'above W (its batch may not be whole): W', version: 9_216n, frontier: 8_192n, reported: 8_192n },
    { case: 'W of 0 (nothing closed yet): 0, so the client asks for everything again', version: 9_216n, frontier: 0n, reported: 0n },
  ])('$case', ({ version, frontier, reported }) => {
    expect(reportedVersion(version, frontier)).toBe(reported);
  });

  it('never goes down for a conversation while its version and W grow', () => {
    const steps = [
      { version: 1_024n, frontier: 512n },
      { version: 3_072n, frontier: 2_048n },
      { version: 3_072n, frontier: 4_096n },
      { version: 6_144n, frontier: 4_096n },
      { version: 6_144n, frontier: 9_216n },
    ];
    const seen = steps.map(({ version, frontier }) => reportedVersion(version, frontier));
    expect(seen).toEqual([512n, 2_048n, 3_072n, 4_096n, 6_144n]);
    expect([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(seen);
  });
});
