import { loadConfig } from './config';

describe('RECENT_MESSAGES_KEPT', () => {
  it.each([
    { value: undefined, kept: 100 },
    { value: '50', kept: 50 },
    { value: '5000', kept: 5000 },
  ])('$value keeps $kept messages per window', ({ value, kept }) => {
    expect(loadConfig({ RECENT_MESSAGES_KEPT: value }).recentMessagesKept).toBe(kept);
  });

  it.each(['49', '0', '-1', 'many', '1.5'])('%s is refused, naming the variable and the range', (value) => {
    expect(() => loadConfig({ RECENT_MESSAGES_KEPT: value })).toThrow(
      `Invalid configuration: RECENT_MESSAGES_KEPT must be an integer in 50..100000, got ${JSON.stringify(value)}`,
    );
  });
});
