import { AppProcess, RunningService } from './support/app-process';
import { parseExactJson } from './support/json';
import { TestEnvironment } from './support/test-environment';
import { GROUP, PERSON, deleted, groupMessage, joined, personMessage, read } from './support/events';

/**
 * The WuKongIM conversation commands: each answers 200 {"status":200} only once
 * its event is applied, so the very next sync reflects it (read-your-writes).
 * No test waits between a command and the sync that checks it.
 */
describe('conversation commands (e2e)', () => {
  const env = new TestEnvironment('commands');
  let service: RunningService;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env);
  });

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  // The first argument names the channel for the reader; produceAndWait keys each record by its own channel.
  const apply = (_channel: string, ...events: object[]) => env.produceAndWait(...events);

  /** Runs a command and expects the exact success answer. */
  async function command(name: 'clearUnread' | 'setUnread' | 'delete', body: Record<string, unknown>): Promise<void> {
    const response = await service.post(`/conversations/${name}`, body);
    expect({ status: response.status, text: response.text }).toEqual({ status: 200, text: '{"status":200}' });
  }

  async function conversationOf(uid: string, channelId: string, channelType: number): Promise<any | undefined> {
    const all = await service.sync({ uid, msg_count: 10 });
    return all.find((c) => c.channel_id === channelId && c.channel_type === channelType);
  }

  it('clearUnread without message_seq reads everything delivered', async () => {
    await apply('k1', ...[1, 2, 3].map((seq) => personMessage('k1-a', 'k1-b', seq)));
    expect(await conversationOf('k1-b', 'k1-a', PERSON)).toMatchObject({ unread: 3 });

    await command('clearUnread', { uid: 'k1-b', channel_id: 'k1-a', channel_type: PERSON });

    expect(await conversationOf('k1-b', 'k1-a', PERSON)).toMatchObject({ unread: 0, readed_to_msg_seq: 3, last_msg_seq: 3 });
  });

  it('clearUnread with message_seq reads up to it', async () => {
    await apply('k2', ...[1, 2, 3, 4].map((seq) => personMessage('k2-a', 'k2-b', seq)));

    await command('clearUnread', { uid: 'k2-b', channel_id: 'k2-a', channel_type: PERSON, message_seq: 2 });
    expect(await conversationOf('k2-b', 'k2-a', PERSON)).toMatchObject({ unread: 2, readed_to_msg_seq: 2 });

    await command('clearUnread', { uid: 'k2-b', channel_id: 'k2-a', channel_type: PERSON, message_seq: 3 });
    expect(await conversationOf('k2-b', 'k2-a', PERSON)).toMatchObject({ unread: 1, readed_to_msg_seq: 3 });
  });

  it('setUnread sets the unread count, also upwards (mark as unread)', async () => {
    const group = 'k3:group';
    await apply(group, joined(group, ['k3-a', 'k3-b']), ...[1, 2, 3, 4, 5].map((seq) => groupMessage(group, 'k3-a', seq)));

    await command('clearUnread', { uid: 'k3-b', channel_id: group, channel_type: GROUP });
    expect(await conversationOf('k3-b', group, GROUP)).toMatchObject({ unread: 0 });
    await command('setUnread', { uid: 'k3-b', channel_id: group, channel_type: GROUP, unread: 3 });
    expect(await conversationOf('k3-b', group, GROUP)).toMatchObject({ unread: 3, readed_to_msg_seq: 2 });
    await command('setUnread', { uid: 'k3-b', channel_id: group, channel_type: GROUP, unread: 1 });
    expect(await conversationOf('k3-b', group, GROUP)).toMatchObject({ unread: 1, readed_to_msg_seq: 4 });
  });

  it('delete hides the conversation from the next full sync and reports it to the next incremental one', async () => {
    await apply('k4', personMessage('k4-a', 'k4-b', 1), personMessage('k4-c', 'k4-b', 1));
    const before = await service.sync({ uid: 'k4-b' });
    expect(before.map((c) => c.channel_id).sort()).toEqual(['k4-a', 'k4-c']);
    const highest = before.reduce((max, c) => (c.version > max ? c.version : max), 0n);

    await command('delete', { uid: 'k4-b', channel_id: 'k4-a', channel_type: PERSON });

    expect((await service.sync({ uid: 'k4-b' })).map((c) => c.channel_id)).toEqual(['k4-c']);
    expect(await service.sync({ uid: 'k4-b', version: highest })).toEqual([]);
    const [tombstone, ...rest] = await service.sync({ uid: 'k4-b', version: highest, include_deleted: 1 });
    expect(rest).toEqual([]);
    expect(tombstone).toEqual({ channel_id: 'k4-a', channel_type: PERSON, version: expect.any(BigInt), deleted: 1 });
    expect(tombstone.version).toBeGreaterThan(highest);
    // Only k4-b's view: the other side keeps it.
    expect(await conversationOf('k4-a', 'k4-b', PERSON)).toMatchObject({ last_msg_seq: 1 });
  });

  it('works with ids holding @ : | { spaces and CJK', async () => {
    const [alice, bob] = ['k5 张@x:1|{a}', 'k5 李:{b}|@'];
    await apply('k5', personMessage(alice, bob, 1), personMessage(alice, bob, 2));

    await command('clearUnread', { uid: bob, channel_id: alice, channel_type: PERSON, message_seq: 1 });
    expect(await conversationOf(bob, alice, PERSON)).toMatchObject({ unread: 1 });
    await command('setUnread', { uid: bob, channel_id: alice, channel_type: PERSON, unread: 2 });
    expect(await conversationOf(bob, alice, PERSON)).toMatchObject({ unread: 2 });
    await command('delete', { uid: bob, channel_id: alice, channel_type: PERSON });
    expect(await conversationOf(bob, alice, PERSON)).toBeUndefined();
  });

  it('every command in a quick series is visible to the sync right after it', async () => {
    const group = 'k6-group';
    await apply(group, joined(group, ['k6-a', 'k6-b']), ...Array.from({ length: 10 }, (_, i) => groupMessage(group, 'k6-a', i + 1)));

    for (const unread of [7, 2, 9, 0, 5, 1, 3, 10]) {
      await command('setUnread', { uid: 'k6-b', channel_id: group, channel_type: GROUP, unread });
      expect({ unread, got: (await conversationOf('k6-b', group, GROUP))?.unread }).toEqual({ unread, got: unread });
    }
    for (const seq of [4, 6, 9]) {
      await command('clearUnread', { uid: 'k6-b', channel_id: group, channel_type: GROUP, message_seq: seq });
      expect({ seq, got: (await conversationOf('k6-b', group, GROUP))?.readed_to_msg_seq }).toEqual({ seq, got: seq });
    }
  });

  it('is visible to a sync through another API instance right after the answer', async () => {
    const other = await AppProcess.start('api', env.appEnv());
    try {
      await apply('k7', personMessage('k7-a', 'k7-b', 1), personMessage('k7-a', 'k7-b', 2));
      const syncThroughOther = async () => {
        const response = await fetch(`${other.url}/conversation/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ uid: 'k7-b' }),
        });
        expect(response.status).toBe(200);
        return parseExactJson(await response.text()) as any[];
      };

      await command('clearUnread', { uid: 'k7-b', channel_id: 'k7-a', channel_type: PERSON });
      expect(await syncThroughOther()).toMatchObject([{ channel_id: 'k7-a', unread: 0 }]);
      await command('setUnread', { uid: 'k7-b', channel_id: 'k7-a', channel_type: PERSON, unread: 1 });
      expect(await syncThroughOther()).toMatchObject([{ channel_id: 'k7-a', unread: 1 }]);
      await command('delete', { uid: 'k7-b', channel_id: 'k7-a', channel_type: PERSON });
      expect(await syncThroughOther()).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('answers an error, not a false 200, when the change cannot become visible in time', async () => {
    // This API waits on the checkpoints of a group that no consumer runs, with a short deadline.
    const stranded = await AppProcess.start('api', env.appEnv({ KAFKA_GROUP_ID: `${env.groupId}-nobody`, COMMAND_TIMEOUT_MS: '300' }));
    try {
      const response = await fetch(`${stranded.url}/conversations/setUnread`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uid: 'k9-u', channel_id: 'k9-x', channel_type: PERSON, unread: 1 }),
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
      expect(await response.json()).toEqual({ msg: expect.any(String), status: response.status });
    } finally {
      await stranded.stop();
    }
  });

  it('a command on a conversation the user does not have answers 200 and creates nothing', async () => {
    await command('clearUnread', { uid: 'k8-u', channel_id: 'k8-x', channel_type: PERSON });
    await command('setUnread', { uid: 'k8-u', channel_id: 'k8-x', channel_type: PERSON, unread: 2 });
    await command('delete', { uid: 'k8-u', channel_id: 'k8-x', channel_type: PERSON });

    expect(await service.sync({ uid: 'k8-u' })).toEqual([]);
    expect(await service.sync({ uid: 'k8-x' })).toEqual([]);
  });
});
