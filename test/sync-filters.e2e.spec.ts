import { RunningService } from './support/app-process';
import { stringifyExact } from './support/json';
import { TestEnvironment } from './support/test-environment';
import { GROUP, PERSON, deleted, groupMessage, message, personMessage, read, unreadSet } from './support/events';

/**
 * The request filters of POST /conversation/sync (issue 3, "Filters, all
 * together"), through the running apps. Each case has its own user.
 */
describe('sync filters (e2e)', () => {
  const env = new TestEnvironment('sync-filters');
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

  const ids = (conversations: any[]) => conversations.map((c) => c.channel_id);
  const seqsOf = (conversation: { recents: { message_seq: number }[] }) => conversation.recents.map((m) => m.message_seq);

  describe('version', () => {
    it('version = the latest seen returns nothing new, one step (1024 ns) below returns the conversation', async () => {
      await apply('v1', personMessage('v1-a', 'v1-u', 1), personMessage('v1-b', 'v1-u', 1));
      const all = await service.sync({ uid: 'v1-u' });
      expect(ids(all)).toEqual(['v1-b', 'v1-a']);
      const [newest, older] = all;
      expect(newest.version).toBeGreaterThan(older.version);

      expect([newest.version % 1024n, older.version % 1024n]).toEqual([0n, 0n]);
      expect(await service.sync({ uid: 'v1-u', version: newest.version })).toEqual([]);
      expect(ids(await service.sync({ uid: 'v1-u', version: newest.version - 1024n }))).toEqual(['v1-b']);
      expect(ids(await service.sync({ uid: 'v1-u', version: older.version }))).toEqual(['v1-b']);
      expect(ids(await service.sync({ uid: 'v1-u', version: older.version - 1024n }))).toEqual(['v1-b', 'v1-a']);
      // A version is read as the nearest multiple of 1024: what a JavaScript client sends back means what it saw.
      expect(await service.sync({ uid: 'v1-u', version: newest.version - 128n })).toEqual([]);
      expect(await service.sync({ uid: 'v1-u', version: newest.version + 128n })).toEqual([]);
      expect(ids(await service.sync({ uid: 'v1-u', version: newest.version - 512n }))).toEqual(['v1-b']);

      await apply('v1', personMessage('v1-a', 'v1-u', 2));
      const [changed] = await service.sync({ uid: 'v1-u', version: newest.version });
      expect(changed).toMatchObject({ channel_id: 'v1-a', last_msg_seq: 2 });
      expect(changed.version).toBeGreaterThan(newest.version);
    });

    it.each([
      { encoding: 'a decimal string', encode: (version: bigint) => stringifyExact({ uid: 'v2-u', version: version.toString() }) },
      { encoding: 'a bare integer', encode: (version: bigint) => stringifyExact({ uid: 'v2-u', version }) },
    ])('accepts a version beyond 2^53 as $encoding, exactly', async ({ encode }) => {
      if ((await service.sync({ uid: 'v2-u' })).length === 0) await apply('v2', personMessage('v2-a', 'v2-u', 1));
      const [conversation] = await service.sync({ uid: 'v2-u' });
      const version: bigint = conversation.version;
      expect(version).toBeGreaterThan(2n ** 53n);

      const below = await service.post('/conversation/sync', encode(version - 1024n));
      expect(below.status).toBe(200);
      expect(ids(below.body)).toEqual(['v2-a']);
      const at = await service.post('/conversation/sync', encode(version));
      expect(at.status).toBe(200);
      expect(at.body).toEqual([]);
    });

    it('with include_deleted reports conversations deleted since V as {channel_id, channel_type, version, deleted: 1}; without it they stop appearing; full syncs leave them out', async () => {
      await apply('v3', personMessage('v3-a', 'v3-u', 1), personMessage('v3-b', 'v3-u', 1), groupMessage('v3:g', 'v3-a', 1, { subscribers: ['v3-u', 'v3-a'] }));
      const before = await service.sync({ uid: 'v3-u' });
      const highest = before.reduce((max, c) => (c.version > max ? c.version : max), 0n);

      await apply('v3', deleted('v3-u', 'v3-a', PERSON), deleted('v3-u', 'v3:g', GROUP));

      expect(await service.sync({ uid: 'v3-u', version: highest, msg_count: 5 })).toEqual([]);
      const since = await service.sync({ uid: 'v3-u', version: highest, msg_count: 5, include_deleted: 1 });
      expect(since).toHaveLength(2);
      const [person, group] = [since.find((c) => c.channel_id === 'v3-a'), since.find((c) => c.channel_id === 'v3:g')];
      expect(person).toEqual({ channel_id: 'v3-a', channel_type: PERSON, version: expect.any(BigInt), deleted: 1 });
      expect(group).toEqual({ channel_id: 'v3:g', channel_type: GROUP, version: expect.any(BigInt), deleted: 1 });
      expect(person.version).toBeGreaterThan(highest);
      expect(group.version).toBeGreaterThan(person.version);

      expect(ids(await service.sync({ uid: 'v3-u' }))).toEqual(['v3-b']);
      expect(await service.sync({ uid: 'v3-u', version: group.version, include_deleted: 1 })).toEqual([]);
      // The sender still has it.
      expect(ids(await service.sync({ uid: 'v3-a' })).sort()).toEqual(['v3-u', 'v3:g']);
    });
  });

  describe('last_msg_seqs', () => {
    it('leaves a conversation out when S >= last_msg_seq and keeps only recents above S otherwise', async () => {
      await apply('l1', ...[1, 2, 3].map((seq) => personMessage('l1-a', 'l1-u', seq)), personMessage('l1-b', 'l1-u', 1, { timestamp: 1_600_000_000 }));
      const sync = (lastMsgSeqs: string) => service.sync({ uid: 'l1-u', msg_count: 10, last_msg_seqs: lastMsgSeqs });

      expect(ids(await sync('l1-a:1:3'))).toEqual(['l1-b']);
      expect(ids(await sync('l1-a:1:4'))).toEqual(['l1-b']);
      const [a, b] = await sync('l1-a:1:1|l1-b:1:0');
      expect(a).toMatchObject({ channel_id: 'l1-a', last_msg_seq: 3, unread: 3 });
      expect(seqsOf(a)).toEqual([3, 2]);
      expect(seqsOf(b)).toEqual([1]);
      // Another channel type with the same id is another channel.
      expect(seqsOf((await sync('l1-a:2:3'))[0])).toEqual([3, 2, 1]);
      expect(ids(await sync('l1-a:1:3|l1-b:1:1'))).toEqual([]);
    });

    it('with version > 0 returns a conversation read or marked unread after V although last_msg_seqs says the client has its latest message', async () => {
      await apply('l3', ...[1, 2, 3].map((seq) => personMessage('l3-a', 'l3-u', seq)));
      const [before] = await service.sync({ uid: 'l3-u', msg_count: 10 });
      const held = 'l3-a:1:3';
      expect(await service.sync({ uid: 'l3-u', version: before.version, last_msg_seqs: held })).toEqual([]);

      await apply('l3', read('l3-u', 'l3-a', PERSON));
      const [afterRead] = await service.sync({ uid: 'l3-u', version: before.version, msg_count: 10, last_msg_seqs: held });
      expect(afterRead).toMatchObject({ channel_id: 'l3-a', unread: 0, readed_to_msg_seq: 3, recents: [] });
      await apply('l3', unreadSet('l3-u', 'l3-a', PERSON, 1));
      const [afterUnread] = await service.sync({ uid: 'l3-u', version: afterRead.version, msg_count: 10, last_msg_seqs: 'l3-a:1:2' });
      expect(afterUnread).toMatchObject({ channel_id: 'l3-a', unread: 1, readed_to_msg_seq: 2 });
      expect(seqsOf(afterUnread)).toEqual([3]);
      // A full sync keeps WuKongIM's rule: the client has the latest message, so it is left out.
      expect(await service.sync({ uid: 'l3-u', last_msg_seqs: held })).toEqual([]);
    });

    it('skips entries it cannot read, as WuKongIM does, and reads a negative channel type as a signed byte (-56 = 200)', async () => {
      await apply('l4', ...[1, 2].map((seq) => message('l4-x', 'l4:team', 200, seq, { subscribers: ['l4-u'] })));
      await apply('l4', personMessage('l4-a', 'l4-u', 1, { timestamp: 1_600_000_000 }));
      const sync = (lastMsgSeqs: string) => service.sync({ uid: 'l4-u', msg_count: 10, last_msg_seqs: lastMsgSeqs });
      expect(ids(await sync('l4:team:-56:2'))).toEqual(['l4-a']);
      const [team] = await sync('garbage|l4:team:-56:1|l4-a:x:1|l4-a:1:1');
      expect(seqsOf(team)).toEqual([2]);
      expect(ids(await sync('l4:team:-56:1|l4-a:x:1|l4-a:1:1'))).toEqual(['l4:team']);
    });

    it('splits each entry at its last two colons, so channel ids may contain colons', async () => {
      const group = 'team:42:1';
      const person = 'l2:friend';
      await apply('l2', ...[1, 2, 3].map((seq) => groupMessage(group, 'l2-x', seq, { subscribers: ['l2-u'] })));
      await apply('l2', ...[1, 2].map((seq) => personMessage(person, 'l2-u', seq, { timestamp: 1_600_000_000 + seq })));
      const sync = (lastMsgSeqs: string) => service.sync({ uid: 'l2-u', msg_count: 10, last_msg_seqs: lastMsgSeqs });

      const [forGroup] = await sync(`${group}:2:2|${person}:1:2`);
      expect(forGroup.channel_id).toBe(group);
      expect(seqsOf(forGroup)).toEqual([3]);
      const [, forPerson] = await sync(`${group}:2:0|${person}:1:1`);
      expect(forPerson.channel_id).toBe(person);
      expect(seqsOf(forPerson)).toEqual([2]);
      expect(await sync(`${group}:2:3|${person}:1:2`)).toEqual([]);
    });
  });

  describe('msg_count', () => {
    it('msg_count 0 (and by default) gives empty recents, n gives the n newest, above 50 means 50', async () => {
      await apply('m1', ...Array.from({ length: 55 }, (_, i) => personMessage('m1-a', 'm1-u', i + 1)));
      const recentsWith = async (request: Record<string, unknown>) => {
        const [conversation] = await service.sync({ uid: 'm1-u', ...request });
        expect(conversation).toMatchObject({ last_msg_seq: 55, unread: 55 });
        return seqsOf(conversation);
      };

      expect(await recentsWith({})).toEqual([]);
      expect(await recentsWith({ msg_count: 0 })).toEqual([]);
      expect(await recentsWith({ msg_count: 3 })).toEqual([55, 54, 53]);
      const fifty = Array.from({ length: 50 }, (_, i) => 55 - i);
      expect(await recentsWith({ msg_count: 50 })).toEqual(fifty);
      expect(await recentsWith({ msg_count: 51 })).toEqual(fifty);
      expect(await recentsWith({ msg_count: 1000 })).toEqual(fifty);
    });
  });

  describe('only_unread', () => {
    it('only_unread = 1 keeps only conversations with unread > 0', async () => {
      await apply(
        'o1',
        personMessage('o1-a', 'o1-u', 1),
        personMessage('o1-b', 'o1-u', 1),
        read('o1-u', 'o1-b', PERSON),
        personMessage('o1-u', 'o1-c', 1),
        personMessage('o1-d', 'o1-u', 1),
        personMessage('o1-d', 'o1-u', 2),
        unreadSet('o1-u', 'o1-d', PERSON, 1),
      );

      expect(ids(await service.sync({ uid: 'o1-u' })).sort()).toEqual(['o1-a', 'o1-b', 'o1-c', 'o1-d']);
      expect(ids(await service.sync({ uid: 'o1-u', only_unread: 0 })).sort()).toEqual(['o1-a', 'o1-b', 'o1-c', 'o1-d']);
      const unread = await service.sync({ uid: 'o1-u', only_unread: 1 });
      expect(unread.map((c) => [c.channel_id, c.unread]).sort()).toEqual([['o1-a', 1], ['o1-d', 1]]);

      await apply('o1', read('o1-u', 'o1-a', PERSON), read('o1-u', 'o1-d', PERSON));
      expect(await service.sync({ uid: 'o1-u', only_unread: 1 })).toEqual([]);
    });
  });

  describe('exclude_channel_types', () => {
    it('leaves those types out, except channels listed in last_msg_seqs', async () => {
      await apply(
        'e1',
        personMessage('e1-a', 'e1-u', 1, { timestamp: 1_700_000_003 }),
        groupMessage('e1:g', 'e1-x', 1, { subscribers: ['e1-u'], timestamp: 1_700_000_002 }),
        message('e1-x', 'e1-h', 3, 1, { subscribers: ['e1-u'], timestamp: 1_700_000_001 }),
      );
      const sync = (request: Record<string, unknown>) => service.sync({ uid: 'e1-u', ...request }).then(ids);

      expect(await sync({})).toEqual(['e1-a', 'e1:g', 'e1-h']);
      expect(await sync({ exclude_channel_types: [] })).toEqual(['e1-a', 'e1:g', 'e1-h']);
      expect(await sync({ exclude_channel_types: [GROUP] })).toEqual(['e1-a', 'e1-h']);
      expect(await sync({ exclude_channel_types: [PERSON, 3] })).toEqual(['e1:g']);
      expect(await sync({ exclude_channel_types: [GROUP], last_msg_seqs: 'e1:g:2:0' })).toEqual(['e1-a', 'e1:g', 'e1-h']);
      expect(await sync({ exclude_channel_types: [PERSON, GROUP, 3], last_msg_seqs: 'e1-h:3:0' })).toEqual(['e1-h']);
      // Listed, but already up to date: still left out.
      expect(await sync({ exclude_channel_types: [GROUP], last_msg_seqs: 'e1:g:2:1' })).toEqual(['e1-a', 'e1-h']);
    });
  });

  describe('paging and order', () => {
    it('pages the ordered list; a page past the end is []', async () => {
      await apply('p1', ...[1, 2, 3, 4, 5].map((n) => personMessage(`p1-c${n}`, 'p1-u', 1, { timestamp: 1_700_000_000 + n })));
      const page = (request: Record<string, unknown>) => service.sync({ uid: 'p1-u', ...request }).then(ids);

      expect(await page({})).toEqual(['p1-c5', 'p1-c4', 'p1-c3', 'p1-c2', 'p1-c1']);
      expect(await page({ page: 0, page_size: 2 })).toEqual(['p1-c5', 'p1-c4', 'p1-c3', 'p1-c2', 'p1-c1']);
      expect(await page({ page: 1, page_size: 2 })).toEqual(['p1-c5', 'p1-c4']);
      expect(await page({ page: 2, page_size: 2 })).toEqual(['p1-c3', 'p1-c2']);
      expect(await page({ page: 3, page_size: 2 })).toEqual(['p1-c1']);
      expect(await page({ page: 4, page_size: 2 })).toEqual([]);
      expect(await page({ page: 1 })).toEqual(['p1-c5', 'p1-c4', 'p1-c3', 'p1-c2', 'p1-c1']);
      expect(await page({ page: 2 })).toEqual([]);
      // Paging comes after the other filters.
      expect(await page({ page: 1, page_size: 2, last_msg_seqs: 'p1-c5:1:1' })).toEqual(['p1-c4', 'p1-c3']);
    });

    it('orders by timestamp descending, then version descending', async () => {
      await apply(
        'q1',
        personMessage('q1-old-first', 'q1-u', 1, { timestamp: 1_700_000_100 }),
        personMessage('q1-same-first', 'q1-u', 1, { timestamp: 1_700_000_200 }),
        personMessage('q1-same-second', 'q1-u', 1, { timestamp: 1_700_000_200 }),
        personMessage('q1-newest-ts', 'q1-u', 1, { timestamp: 1_700_000_300 }),
        personMessage('q1-old-last', 'q1-u', 1, { timestamp: 1_700_000_050 }),
      );

      const answer = await service.sync({ uid: 'q1-u' });
      expect(ids(answer)).toEqual(['q1-newest-ts', 'q1-same-second', 'q1-same-first', 'q1-old-first', 'q1-old-last']);
      expect(answer[1].version).toBeGreaterThan(answer[2].version);

      // A read raises the version of the first of the equal-timestamp pair: it moves ahead.
      await apply('q1', read('q1-u', 'q1-same-first', PERSON));
      expect(ids(await service.sync({ uid: 'q1-u' }))).toEqual(['q1-newest-ts', 'q1-same-first', 'q1-same-second', 'q1-old-first', 'q1-old-last']);
    });
  });
});
