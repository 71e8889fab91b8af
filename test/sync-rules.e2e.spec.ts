import { RunningService } from './support/app-process';
import { stringifyExact } from './support/json';
import { TestEnvironment } from './support/test-environment';
import { GROUP, PERSON, deleted, groupMessage, joined, message, personKey, personMessage, read, removed, unreadSet } from './support/events';

/**
 * Every rule of the sync contract (issue 3, "Rules"), through the running
 * consumer and API against real Kafka, PostgreSQL and Redis. Each case uses its
 * own uids and channels, so cases never see each other's conversations.
 */
describe('sync rules (e2e)', () => {
  const env = new TestEnvironment('sync-rules');
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

  async function conversations(uid: string, request: Record<string, unknown> = {}): Promise<any[]> {
    return service.sync({ uid, msg_count: 50, ...request });
  }

  async function conversationOf(uid: string, channelId: string, channelType: number): Promise<any | undefined> {
    const all = await conversations(uid);
    return all.find((c) => c.channel_id === channelId && c.channel_type === channelType);
  }

  const seqsOf = (conversation: { recents: { message_seq: number }[] }) => conversation.recents.map((m) => m.message_seq);

  describe('delivery', () => {
    it('delivers a person message to its sender and its recipient, each seeing the other as channel_id', async () => {
      await apply(personKey('d1-ann', 'd1-ben'), personMessage('d1-ann', 'd1-ben', 1, { client_msg_no: 'hello' }));

      const [forBen] = await conversations('d1-ben');
      expect(forBen).toMatchObject({ channel_id: 'd1-ann', channel_type: PERSON, unread: 1, last_msg_seq: 1, readed_to_msg_seq: 0, last_client_msg_no: 'hello', offset_msg_seq: 0 });
      expect(forBen.recents).toEqual([expect.objectContaining({ channel_id: 'd1-ann', from_uid: 'd1-ann', message_seq: 1, client_msg_no: 'hello' })]);

      const [forAnn] = await conversations('d1-ann');
      expect(forAnn).toMatchObject({ channel_id: 'd1-ben', channel_type: PERSON, unread: 0, last_msg_seq: 1, readed_to_msg_seq: 1 });
      expect(forAnn.recents).toEqual([expect.objectContaining({ channel_id: 'd1-ben', from_uid: 'd1-ann', message_seq: 1 })]);

      expect(await conversations('d1-cat')).toEqual([]);
    });

    it('keeps seqs up to 2^53 - 1 exact through storage and recents', async () => {
      const top = Number.MAX_SAFE_INTEGER;
      const fixed = { message_id: 1, timestamp: 1_700_000_000 };
      await apply(personKey('dz-ann', 'dz-ben'), personMessage('dz-ann', 'dz-ben', top - 1, fixed), personMessage('dz-ann', 'dz-ben', top, fixed));
      const forBen = await conversationOf('dz-ben', 'dz-ann', PERSON);
      expect(forBen).toMatchObject({ last_msg_seq: top, unread: top });
      expect(seqsOf(forBen)).toEqual([top, top - 1]);
    });

    it('never answers an empty client_msg_no: a message without one (or with "") carries its message id there and in last_client_msg_no', async () => {
      const key = personKey('dc-ann', 'dc-ben');
      await apply(key, personMessage('dc-ann', 'dc-ben', 1, { client_msg_no: '', message_id: '9223372036854775807' }));
      const forBen = await conversationOf('dc-ben', 'dc-ann', PERSON);
      expect(forBen).toMatchObject({ last_client_msg_no: '9223372036854775807', recents: [{ client_msg_no: '9223372036854775807', message_idstr: '9223372036854775807' }] });
      const { client_msg_no: _dropped, ...withoutOne } = personMessage('dc-ann', 'dc-ben', 2, { message_id: 4242 });
      await apply(key, withoutOne);
      expect(await conversationOf('dc-ben', 'dc-ann', PERSON)).toMatchObject({ last_client_msg_no: '4242', recents: [{ client_msg_no: '4242' }, { client_msg_no: '9223372036854775807' }] });
    });

    it('answers every field of the conversation and of its recents, as the message was received', async () => {
      await apply(
        personKey('d0-ann', 'd0-ben'),
        { type: 'message', message_id: '77', message_seq: 1, from_uid: 'd0-ann', channel_id: 'd0-ben', channel_type: PERSON, timestamp: 1_700_000_001, payload: '' },
        personMessage('d0-ann', 'd0-ben', 2, {
          client_msg_no: 'full',
          payload: 'aGVsbG8gd29ybGQ=',
          header: { no_persist: 0, red_dot: 1, sync_once: 0 },
          setting: 3,
          expire: 86_400,
          topic: 'news/1',
        }),
      );

      const [forBen] = await conversations('d0-ben');
      const common = { channel_id: 'd0-ann', channel_type: PERSON, from_uid: 'd0-ann' };
      expect(forBen).toEqual({
        channel_id: 'd0-ann',
        channel_type: PERSON,
        unread: 2,
        timestamp: 1_700_000_002,
        last_msg_seq: 2,
        last_client_msg_no: 'full',
        offset_msg_seq: 0,
        readed_to_msg_seq: 0,
        version: expect.any(BigInt),
        recents: [
          {
            ...common,
            message_id: 1_000_002,
            message_idstr: '1000002',
            message_seq: 2,
            client_msg_no: 'full',
            timestamp: 1_700_000_002,
            payload: 'aGVsbG8gd29ybGQ=',
            header: { no_persist: 0, red_dot: 1, sync_once: 0 },
            setting: 3,
            expire: 86_400,
            topic: 'news/1',
          },
          {
            ...common,
            message_id: 77,
            message_idstr: '77',
            message_seq: 1,
            client_msg_no: '77', // none in the event: the message id
            timestamp: 1_700_000_001,
            payload: '',
            header: { no_persist: 0, red_dot: 0, sync_once: 0 },
            setting: 0,
            expire: 0,
            topic: '',
          },
        ],
      });
    });

    it('delivers a message with subscribers to exactly those uids, members or not', async () => {
      const channel = 'd2-room';
      await apply(
        channel,
        joined(channel, ['d2-m1', 'd2-m2'], 3),
        message('d2-sender', channel, 3, 1, { subscribers: ['d2-s1', 'd2-m1'], client_msg_no: 'to-two' }),
      );

      for (const uid of ['d2-s1', 'd2-m1']) {
        const conversation = await conversationOf(uid, channel, 3);
        expect(conversation).toMatchObject({ last_msg_seq: 1, unread: 1, last_client_msg_no: 'to-two' });
        expect(seqsOf(conversation)).toEqual([1]);
      }
      expect(await conversations('d2-m2')).toEqual([]);
      expect(await conversations('d2-sender')).toEqual([]);
    });

    it('delivers other messages to the channel members at the moment each is applied', async () => {
      const channel = 'd3-group';
      await apply(
        channel,
        joined(channel, ['d3-a', 'd3-b']),
        groupMessage(channel, 'd3-a', 1),
        joined(channel, ['d3-c']),
        groupMessage(channel, 'd3-b', 2),
        removed(channel, ['d3-a']),
        groupMessage(channel, 'd3-c', 3),
      );

      const forA = await conversationOf('d3-a', channel, GROUP);
      expect(forA).toMatchObject({ last_msg_seq: 2, unread: 1, readed_to_msg_seq: 1 });
      expect(seqsOf(forA)).toEqual([2, 1]);
      const forB = await conversationOf('d3-b', channel, GROUP);
      expect(forB).toMatchObject({ last_msg_seq: 3, unread: 1, readed_to_msg_seq: 2 });
      expect(seqsOf(forB)).toEqual([3, 2, 1]);
      const forC = await conversationOf('d3-c', channel, GROUP);
      expect(forC).toMatchObject({ last_msg_seq: 3, unread: 0 });
      expect(seqsOf(forC)).toEqual([3, 2]);
      expect(await conversations('d3-outsider')).toEqual([]);
    });

    it("an incremental sync sees another member's group message, though the reader's own records did not change", async () => {
      const channel = 'd5-group {群}';
      await apply(channel, joined(channel, ['d5-a', 'd5-b']), groupMessage(channel, 'd5-a', 1));
      const [before] = await conversations('d5-b');
      expect(await conversations('d5-b', { version: before.version })).toEqual([]);

      await apply(channel, groupMessage(channel, 'd5-a', 2));

      const [after] = await conversations('d5-b', { version: before.version });
      expect(after).toMatchObject({ channel_id: channel, last_msg_seq: 2, unread: 2 });
      expect(await conversations('d5-b', { version: after.version })).toEqual([]);
    });

    it('adding a current member again changes nothing', async () => {
      const channel = 'd4-group';
      await apply(channel, joined(channel, ['d4-a', 'd4-b']), groupMessage(channel, 'd4-a', 1), groupMessage(channel, 'd4-a', 2));
      const before = await conversationOf('d4-b', channel, GROUP);
      expect(before).toMatchObject({ last_msg_seq: 2, unread: 2 });

      await apply(channel, joined(channel, ['d4-b']));

      expect(await conversationOf('d4-b', channel, GROUP)).toEqual(before);
    });

    it('messages with header no_persist = 1 or sync_once = 1 change no conversation', async () => {
      const key = personKey('d5-ann', 'd5-ben');
      await apply(key, personMessage('d5-ann', 'd5-ben', 1));
      const before = await conversations('d5-ben');
      expect(before).toHaveLength(1);

      await apply(
        key,
        personMessage('d5-ann', 'd5-ben', 2, { header: { no_persist: 1, red_dot: 1, sync_once: 0 } }),
        personMessage('d5-ann', 'd5-ben', 3, { header: { no_persist: 0, red_dot: 1, sync_once: 1 } }),
        personMessage('d5-ann', 'd5-cat', 1, { header: { no_persist: 1, red_dot: 0, sync_once: 0 } }),
      );
      const group = 'd5-group';
      await apply(group, joined(group, ['d5-ben']), groupMessage(group, 'd5-ann', 1, { header: { no_persist: 0, red_dot: 0, sync_once: 1 } }));

      expect(await conversations('d5-ben')).toEqual(before);
      expect(await conversations('d5-cat')).toEqual([]);
      // The skipped seqs were not taken: real messages with them are applied.
      await apply(key, personMessage('d5-ann', 'd5-ben', 2, { client_msg_no: 'real-2' }));
      expect(await conversationOf('d5-ben', 'd5-ann', PERSON)).toMatchObject({ last_msg_seq: 2, last_client_msg_no: 'real-2', unread: 2 });
    });
  });

  describe('duplicates and order', () => {
    it('ignores a second event with an existing seq: the first wins', async () => {
      const payloadFirst = Buffer.from('first').toString('base64');
      await apply(
        personKey('o1-ann', 'o1-ben'),
        personMessage('o1-ann', 'o1-ben', 1, { client_msg_no: 'first', payload: payloadFirst, message_id: 11 }),
        personMessage('o1-ann', 'o1-ben', 1, { client_msg_no: 'second', payload: Buffer.from('second').toString('base64'), message_id: 12 }),
      );
      const before = await conversationOf('o1-ben', 'o1-ann', PERSON);
      // Once more in a later batch: still ignored, and the version does not move.
      await apply(personKey('o1-ann', 'o1-ben'), personMessage('o1-ben', 'o1-ann', 1, { client_msg_no: 'third' }));

      const forBen = await conversationOf('o1-ben', 'o1-ann', PERSON);
      expect(forBen).toEqual(before);
      expect(forBen).toMatchObject({ last_msg_seq: 1, last_client_msg_no: 'first', unread: 1 });
      expect(forBen.recents).toHaveLength(1);
      expect(forBen.recents[0]).toMatchObject({ client_msg_no: 'first', payload: payloadFirst, message_id: 11, from_uid: 'o1-ann' });
    });

    it('stores a late lower seq and shows it in recents, while the latest stays the latest', async () => {
      await apply(
        personKey('o2-ann', 'o2-ben'),
        personMessage('o2-ann', 'o2-ben', 1),
        personMessage('o2-ann', 'o2-ben', 3, { client_msg_no: 'three', timestamp: 1_700_000_300 }),
      );
      await apply(personKey('o2-ann', 'o2-ben'), personMessage('o2-ann', 'o2-ben', 2, { client_msg_no: 'late-two', timestamp: 1_700_000_400 }));

      const forBen = await conversationOf('o2-ben', 'o2-ann', PERSON);
      expect(forBen).toMatchObject({ last_msg_seq: 3, last_client_msg_no: 'three', timestamp: 1_700_000_300, unread: 3 });
      expect(seqsOf(forBen)).toEqual([3, 2, 1]);
      expect(forBen.recents[1]).toMatchObject({ client_msg_no: 'late-two', timestamp: 1_700_000_400 });
    });

    it('a late lower seq in a group also stays behind the latest', async () => {
      const channel = 'o3-group';
      await apply(channel, joined(channel, ['o3-a', 'o3-b']), groupMessage(channel, 'o3-a', 1), groupMessage(channel, 'o3-a', 4));
      await apply(channel, groupMessage(channel, 'o3-a', 2), groupMessage(channel, 'o3-a', 3));

      const forB = await conversationOf('o3-b', channel, GROUP);
      expect(forB).toMatchObject({ last_msg_seq: 4, last_client_msg_no: 'c4', unread: 4 });
      expect(seqsOf(forB)).toEqual([4, 3, 2, 1]);
    });
  });

  describe('visibility floor', () => {
    it('a new member sees no history and no unread from before joining', async () => {
      const channel = 'f1-group';
      await apply(channel, joined(channel, ['f1-a']), groupMessage(channel, 'f1-a', 1), groupMessage(channel, 'f1-a', 2), joined(channel, ['f1-b']));
      expect(await conversations('f1-b')).toEqual([]);

      await apply(channel, groupMessage(channel, 'f1-a', 3));

      const forB = await conversationOf('f1-b', channel, GROUP);
      expect(forB).toMatchObject({ last_msg_seq: 3, unread: 1, readed_to_msg_seq: 2 });
      expect(seqsOf(forB)).toEqual([3]);
    });

    it('a removed member keeps the conversation as it was and receives nothing new', async () => {
      const channel = 'f2-group';
      await apply(channel, joined(channel, ['f2-a', 'f2-b']), groupMessage(channel, 'f2-a', 1));
      const before = await conversationOf('f2-b', channel, GROUP);
      expect(before).toMatchObject({ last_msg_seq: 1, unread: 1 });

      await apply(channel, removed(channel, ['f2-b']), groupMessage(channel, 'f2-a', 2), groupMessage(channel, 'f2-a', 3));

      // As it was but for its version, which moves to the removal's (so a torn read cannot strand a client):
      // an incremental sync brings it once more, unchanged, and then nothing.
      const after = await conversationOf('f2-b', channel, GROUP);
      expect({ ...after, version: before.version }).toEqual(before);
      expect(after.version).toBeGreaterThan(before.version);
      const again = await service.sync({ uid: 'f2-b', version: before.version, msg_count: 10 });
      expect(again.map(({ channel_id, last_msg_seq, version }) => ({ channel_id, last_msg_seq, version }))).toEqual([{ channel_id: channel, last_msg_seq: 1, version: after.version }]);
      expect(await service.sync({ uid: 'f2-b', version: after.version })).toEqual([]);
      expect(await conversationOf('f2-a', channel, GROUP)).toMatchObject({ last_msg_seq: 3 });
    });

    it('a re-join moves the floor up again', async () => {
      const channel = 'f3-group';
      await apply(channel, joined(channel, ['f3-a', 'f3-b']), groupMessage(channel, 'f3-a', 1), removed(channel, ['f3-b']));
      await apply(channel, groupMessage(channel, 'f3-a', 2), groupMessage(channel, 'f3-a', 3), joined(channel, ['f3-b']));
      expect(await conversationOf('f3-b', channel, GROUP)).toBeUndefined();

      await apply(channel, groupMessage(channel, 'f3-a', 4));

      const forB = await conversationOf('f3-b', channel, GROUP);
      expect(forB).toMatchObject({ last_msg_seq: 4, unread: 1, readed_to_msg_seq: 3 });
      expect(seqsOf(forB)).toEqual([4]);
    });

    it('conversation_deleted hides the conversation from full syncs until a new message, which is then all it shows', async () => {
      const key = personKey('f4-ann', 'f4-ben');
      await apply(key, personMessage('f4-ann', 'f4-ben', 1), personMessage('f4-ben', 'f4-ann', 2), personMessage('f4-ann', 'f4-ben', 3));
      await apply(key, deleted('f4-ben', 'f4-ann', PERSON));

      expect(await conversationOf('f4-ben', 'f4-ann', PERSON)).toBeUndefined();
      expect(await conversationOf('f4-ann', 'f4-ben', PERSON)).toMatchObject({ last_msg_seq: 3 });

      await apply(key, personMessage('f4-ann', 'f4-ben', 4));

      const forBen = await conversationOf('f4-ben', 'f4-ann', PERSON);
      expect(forBen).toMatchObject({ last_msg_seq: 4, unread: 1, readed_to_msg_seq: 3 });
      expect(seqsOf(forBen)).toEqual([4]);
      expect(seqsOf(await conversationOf('f4-ann', 'f4-ben', PERSON))).toEqual([4, 3, 2, 1]);
    });

    it('conversation_deleted in a group hides it until the next message', async () => {
      const channel = 'f5-group';
      await apply(channel, joined(channel, ['f5-a', 'f5-b']), groupMessage(channel, 'f5-a', 1), deleted('f5-b', channel, GROUP));
      expect(await conversationOf('f5-b', channel, GROUP)).toBeUndefined();

      await apply(channel, groupMessage(channel, 'f5-a', 2));

      expect(seqsOf(await conversationOf('f5-b', channel, GROUP))).toEqual([2]);
    });
  });

  describe('read position and unread', () => {
    it('conversation_read with read_to_seq reads up to it (clamped to the latest delivered), without it reads all, never backwards', async () => {
      const key = personKey('r1-ann', 'r1-ben');
      await apply(key, ...[1, 2, 3, 4].map((seq) => personMessage('r1-ann', 'r1-ben', seq)));

      await apply(key, read('r1-ben', 'r1-ann', PERSON, 2));
      expect(await conversationOf('r1-ben', 'r1-ann', PERSON)).toMatchObject({ unread: 2, readed_to_msg_seq: 2, last_msg_seq: 4 });

      await apply(key, read('r1-ben', 'r1-ann', PERSON, 1));
      expect(await conversationOf('r1-ben', 'r1-ann', PERSON)).toMatchObject({ unread: 2, readed_to_msg_seq: 2 });

      await apply(key, read('r1-ben', 'r1-ann', PERSON));
      expect(await conversationOf('r1-ben', 'r1-ann', PERSON)).toMatchObject({ unread: 0, readed_to_msg_seq: 4 });
      // The sender's read position is its own.
      expect(await conversationOf('r1-ann', 'r1-ben', PERSON)).toMatchObject({ unread: 0, readed_to_msg_seq: 4 });
    });

    it('conversation_read beyond the latest delivered seq does not pre-read future messages', async () => {
      const key = personKey('r2-ann', 'r2-ben');
      await apply(key, personMessage('r2-ann', 'r2-ben', 1), read('r2-ben', 'r2-ann', PERSON, 99));
      expect(await conversationOf('r2-ben', 'r2-ann', PERSON)).toMatchObject({ unread: 0, readed_to_msg_seq: 1 });

      await apply(key, personMessage('r2-ann', 'r2-ben', 2));

      expect(await conversationOf('r2-ben', 'r2-ann', PERSON)).toMatchObject({ unread: 1, readed_to_msg_seq: 1, last_msg_seq: 2 });
    });

    it('conversation_unread_set sets unread, and can move read backwards (mark as unread)', async () => {
      const channel = 'r3-group';
      await apply(channel, joined(channel, ['r3-a', 'r3-b']), ...[1, 2, 3, 4, 5].map((seq) => groupMessage(channel, 'r3-a', seq)), read('r3-b', channel, GROUP));
      expect(await conversationOf('r3-b', channel, GROUP)).toMatchObject({ unread: 0, readed_to_msg_seq: 5 });

      await apply(channel, unreadSet('r3-b', channel, GROUP, 2));
      expect(await conversationOf('r3-b', channel, GROUP)).toMatchObject({ unread: 2, readed_to_msg_seq: 3 });

      await apply(channel, unreadSet('r3-b', channel, GROUP, 1));
      expect(await conversationOf('r3-b', channel, GROUP)).toMatchObject({ unread: 1, readed_to_msg_seq: 4 });

      await apply(channel, unreadSet('r3-b', channel, GROUP, 0));
      expect(await conversationOf('r3-b', channel, GROUP)).toMatchObject({ unread: 0, readed_to_msg_seq: 5 });
    });

    it('conversation_unread_set never goes below the floor', async () => {
      const channel = 'r4-group';
      await apply(
        channel,
        joined(channel, ['r4-a']),
        groupMessage(channel, 'r4-a', 1),
        groupMessage(channel, 'r4-a', 2),
        joined(channel, ['r4-b']),
        groupMessage(channel, 'r4-a', 3),
        groupMessage(channel, 'r4-a', 4),
        read('r4-b', channel, GROUP),
        unreadSet('r4-b', channel, GROUP, 10),
      );

      expect(await conversationOf('r4-b', channel, GROUP)).toMatchObject({ unread: 2, readed_to_msg_seq: 2, last_msg_seq: 4 });
    });

    it('never counts your own messages as unread', async () => {
      const key = personKey('r5-ann', 'r5-ben');
      await apply(key, personMessage('r5-ann', 'r5-ben', 1), personMessage('r5-ben', 'r5-ann', 2));
      expect(await conversationOf('r5-ann', 'r5-ben', PERSON)).toMatchObject({ unread: 1, readed_to_msg_seq: 1 });
      expect(await conversationOf('r5-ben', 'r5-ann', PERSON)).toMatchObject({ unread: 0, readed_to_msg_seq: 2 });

      await apply(key, personMessage('r5-ann', 'r5-ben', 3), personMessage('r5-ann', 'r5-ben', 4));
      expect(await conversationOf('r5-ben', 'r5-ann', PERSON)).toMatchObject({ unread: 2, readed_to_msg_seq: 2 });

      const channel = 'r5-group';
      await apply(channel, joined(channel, ['r5-ann', 'r5-ben']), groupMessage(channel, 'r5-ben', 1), groupMessage(channel, 'r5-ann', 2));
      expect(await conversationOf('r5-ann', channel, GROUP)).toMatchObject({ unread: 0, readed_to_msg_seq: 2 });
      expect(await conversationOf('r5-ben', channel, GROUP)).toMatchObject({ unread: 1, readed_to_msg_seq: 1 });
    });
  });

  describe('ids', () => {
    it('keeps ids with @ : | { spaces and CJK exact, in answers and in conversation events', async () => {
      const alice = 'a@b.c:1|{x} 张 三';
      const bob = '李四:{y}|@ 2';
      const group = 'g:2:5|{群} 聊 天@x';
      await apply(personKey(alice, bob), personMessage(alice, bob, 1), personMessage(alice, bob, 2));
      await apply(group, joined(group, [alice, bob]), groupMessage(group, bob, 1, { timestamp: 1_600_000_000 }), read(alice, group, GROUP));

      const forBob = await conversations(bob);
      expect(forBob.map((c) => [c.channel_id, c.channel_type, c.unread])).toEqual([
        [alice, PERSON, 2],
        [group, GROUP, 0],
      ]);
      expect(forBob[0].recents.map((m: any) => [m.channel_id, m.from_uid])).toEqual([[alice, alice], [alice, alice]]);

      const forAlice = await conversations(alice);
      expect(forAlice.map((c) => [c.channel_id, c.channel_type, c.unread])).toEqual([
        [bob, PERSON, 0],
        [group, GROUP, 0],
      ]);
      expect(forAlice[1].recents).toEqual([expect.objectContaining({ channel_id: group, from_uid: bob })]);

      await apply(personKey(alice, bob), read(bob, alice, PERSON, 1));
      expect(await conversationOf(bob, alice, PERSON)).toMatchObject({ unread: 1, readed_to_msg_seq: 1 });
    });

    it('keeps person pairs x@y + z and x + y@z apart', async () => {
      await apply(personKey('x@y', 'z'), personMessage('x@y', 'z', 1, { client_msg_no: 'from x@y to z' }));
      await apply(personKey('x', 'y@z'), personMessage('x', 'y@z', 1, { client_msg_no: 'from x to y@z' }));

      const expectOnly = async (uid: string, channelId: string, clientMsgNo: string, unread: number) => {
        const all = await conversations(uid);
        expect(all.map((c) => [c.channel_id, c.last_client_msg_no, c.unread])).toEqual([[channelId, clientMsgNo, unread]]);
      };
      await expectOnly('x@y', 'z', 'from x@y to z', 0);
      await expectOnly('z', 'x@y', 'from x@y to z', 1);
      await expectOnly('x', 'y@z', 'from x to y@z', 0);
      await expectOnly('y@z', 'x', 'from x to y@z', 1);
    });
  });

  describe('int64 exactness', () => {
    it.each([
      { input: 'a bare integer', messageId: 9_223_372_036_854_775_807n, sent: 9_223_372_036_854_775_807n },
      { input: 'a decimal string', messageId: 9_007_199_254_740_993n, sent: '9007199254740993' },
    ])('message_id beyond 2^53 given as $input comes back exact, as a bare integer with a matching message_idstr', async ({ messageId, sent }) => {
      const [from, to] = [`i1-ann-${messageId}`, `i1-ben-${messageId}`];
      await apply(personKey(from, to), personMessage(from, to, 1, { message_id: sent }));

      const { status, body, text } = await service.post('/conversation/sync', { uid: to, msg_count: 1 });
      expect(status).toBe(200);
      expect(body[0].recents[0].message_id).toBe(messageId);
      expect(body[0].recents[0].message_idstr).toBe(messageId.toString());
      expect(text).toContain(`"message_id":${messageId},`);
    });

    it('version is a bigint beyond 2^53, written exactly, a nanosecond clock, and increases with each change', async () => {
      const key = personKey('i2-ann', 'i2-ben');
      const versions: bigint[] = [];
      const versionAfter = async (...events: object[]) => {
        await apply(key, ...events);
        const { body, text } = await service.post('/conversation/sync', { uid: 'i2-ben' });
        expect(typeof body[0].version).toBe('bigint');
        expect(text).toContain(`"version":${body[0].version},`);
        versions.push(body[0].version);
      };
      const startedNs = BigInt(Date.now()) * 1_000_000n;

      await versionAfter(personMessage('i2-ann', 'i2-ben', 1), personMessage('i2-ann', 'i2-ben', 2));
      await versionAfter(read('i2-ben', 'i2-ann', PERSON, 1));
      await versionAfter(read('i2-ben', 'i2-ann', PERSON));
      await versionAfter(unreadSet('i2-ben', 'i2-ann', PERSON, 2));
      await versionAfter(personMessage('i2-ben', 'i2-ann', 3));
      await apply(key, deleted('i2-ben', 'i2-ann', PERSON));
      const [tombstone] = await service.sync({ uid: 'i2-ben', version: versions[versions.length - 1], include_deleted: 1 });
      expect(tombstone).toEqual({ channel_id: 'i2-ann', channel_type: PERSON, version: expect.any(BigInt), deleted: 1 });
      versions.push(tombstone.version);

      for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]);
      // Multiples of 1024 ns: exact as JavaScript numbers.
      expect(versions.map((version) => version % 1024n)).toEqual(versions.map(() => 0n));
      expect(versions[0]).toBeGreaterThan(2n ** 53n);
      // Nanoseconds since the epoch: within a minute of the test's own clock.
      expect(versions[0]).toBeGreaterThan(startedNs - 60_000_000_000n);
      expect(versions[versions.length - 1]).toBeLessThan(BigInt(Date.now()) * 1_000_000n + 60_000_000_000n);
      // Exact: one step below the version is still older, the version itself is not.
      const exactly = (version: bigint) => service.post('/conversation/sync', stringifyExact({ uid: 'i2-ben', version, include_deleted: 1 }));
      expect((await exactly(tombstone.version - 1024n)).body).toHaveLength(1);
      expect((await exactly(tombstone.version)).body).toEqual([]);
    });
  });
});
