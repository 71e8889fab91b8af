/** The sizes of a bench run: `--quick` or the full run, `--messages=` overriding the ingest size. */
export interface Settings {
  mode: 'quick' | 'full';
  /** message events per ingest run (three runs: phase 2, and phase 5 without and with the big group) */
  messages: number;
  users: number;
  personPairs: number;
  groups: number;
  fullSyncConversations: number;
  messagesPerConversation: number;
  connections: number;
  /** requests/s offered when measuring sync latency: WuKongIM's published 1,286 req/s, rounded up to the throughput target */
  latencyRate: number;
  /** seconds of each load at latencyRate */
  latencySeconds: number;
  loadSeconds: number;
  warmupSeconds: number;
  bigGroupMembers: number;
  bigGroupRate: number;
  bigGroupSample: number;
  /** records per scale-out run (each of its two runs reads the same records) */
  scaleOutMessages: number;
}

export const QUICK: Settings = {
  mode: 'quick',
  messages: 30_000,
  users: 5_000,
  personPairs: 5_000,
  groups: 500,
  fullSyncConversations: 200,
  messagesPerConversation: 3,
  connections: 32,
  latencyRate: 1_300,
  latencySeconds: 5,
  loadSeconds: 10,
  warmupSeconds: 2,
  bigGroupMembers: 10_000,
  bigGroupRate: 100,
  bigGroupSample: 20,
  scaleOutMessages: 20_000,
};

export const FULL: Settings = {
  ...QUICK,
  mode: 'full',
  messages: 150_000,
  users: 20_000,
  personPairs: 20_000,
  groups: 2_000,
  loadSeconds: 30,
  latencySeconds: 20,
  warmupSeconds: 3,
  bigGroupSample: 50,
  scaleOutMessages: 100_000,
};

/** The command line: `--quick`, `--messages=N`, `--profile`, `--ingest-only`, `--only <phase>`. */
export interface Options {
  settings: Settings;
  profile: boolean;
  ingestOnly: boolean;
  only: string | null;
}

export function parseOptions(argv: string[]): Options {
  const args = new Set(argv);
  const settings: Settings = { ...(args.has('--quick') ? QUICK : FULL) };
  for (const arg of args) {
    const messages = /^--messages=(\d+)$/.exec(arg);
    if (messages) settings.messages = Number(messages[1]);
  }
  const onlyAt = argv.indexOf('--only');
  return { settings, profile: args.has('--profile'), ingestOnly: args.has('--ingest-only'), only: onlyAt >= 0 ? argv[onlyAt + 1] ?? '' : null };
}
