import { VERSION_STEP } from '@cs/domain';
import { nextVersions } from './version-clock';

describe('nextVersions', () => {
  it.each([
    { case: 'the clock is ahead of the last version', last: 1_000n, now: 5_000n, versions: [5_120n, 6_144n, 7_168n] },
    { case: 'the clock is behind the last version', last: 10_240n, now: 5_000n, versions: [11_264n, 12_288n] },
    { case: 'now is itself a multiple', last: 0n, now: 4_096n, versions: [5_120n] },
    { case: 'the last version is from before the step (not a multiple)', last: 1_795_641_817_742_084_857n, now: 0n, versions: [1_795_641_817_742_085_120n] },
  ])('$case', ({ last, now, versions }) => {
    expect(nextVersions(last, versions.length, now)).toEqual(versions);
  });

  it('hands out only multiples of 1024, strictly increasing, from the real clock', () => {
    let last = 0n;
    for (let batch = 0; batch < 50; batch++) {
      const versions = nextVersions(last, 7);
      for (const version of versions) {
        expect(version % VERSION_STEP).toBe(0n);
        expect(version).toBeGreaterThan(last);
        last = version;
      }
    }
  });
});
