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

describe('POSTGRES_VACUUM_INTERVAL_MS', () => {
  it.each([
    { value: undefined, ms: 1000 },
    { value: '0', ms: 0 },
    { value: '250', ms: 250 },
  ])('$value vacuums every $ms ms (0: never)', ({ value, ms }) => {
    expect(loadConfig({ POSTGRES_VACUUM_INTERVAL_MS: value }).postgresVacuumIntervalMs).toBe(ms);
  });

  it.each(['-1', 'often', '3600001'])('%s is refused, naming the variable and the range', (value) => {
    expect(() => loadConfig({ POSTGRES_VACUUM_INTERVAL_MS: value })).toThrow(
      `Invalid configuration: POSTGRES_VACUUM_INTERVAL_MS must be an integer in 0..3600000, got ${JSON.stringify(value)}`,
    );
  });
});

describe('KAFKA_MAX_BYTES_PER_PARTITION and KAFKA_PARTITIONS_IN_FLIGHT', () => {
  it('default to a 512 KiB fetch and 2 partitions in flight', () => {
    const config = loadConfig({});
    expect({ bytes: config.kafkaMaxBytesPerPartition, inFlight: config.kafkaPartitionsInFlight }).toEqual({ bytes: 524_288, inFlight: 2 });
  });

  it('take what they are given', () => {
    const config = loadConfig({ KAFKA_MAX_BYTES_PER_PARTITION: '16384', KAFKA_PARTITIONS_IN_FLIGHT: '4' });
    expect({ bytes: config.kafkaMaxBytesPerPartition, inFlight: config.kafkaPartitionsInFlight }).toEqual({ bytes: 16_384, inFlight: 4 });
  });

  it.each([
    ['KAFKA_MAX_BYTES_PER_PARTITION', '1023', '1024..67108864'],
    ['KAFKA_MAX_BYTES_PER_PARTITION', '16k', '1024..67108864'],
    ['KAFKA_PARTITIONS_IN_FLIGHT', '0', '1..1000'],
  ] as const)('%s=%s is refused, naming the variable and the range', (variable, value, range) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(`Invalid configuration: ${variable} must be an integer in ${range}, got ${JSON.stringify(value)}`);
  });
});
