import { AppProcess, RunningService } from './support/app-process';
import { personMessage } from './support/events';
import { TestEnvironment, recordKeyOf } from './support/test-environment';
import { mulberry32 } from '../apps/cli/src/random';
import { waitFor } from './support/wait-for';

/**
 * Bad input on both sides: HTTP requests answered 400/413/401 with
 * `{msg, status}`, and invalid events routed to the dead-letter topic
 * unchanged, without touching state or stopping the consumer.
 */
describe('bad input (e2e)', () => {
  const env = new TestEnvironment('bad-input');
  let service: RunningService;

  beforeAll(async () => {
    await env.setUp();
    service = await RunningService.start(env);
  });

  afterAll(async () => {
    await service?.stop();
    await env.tearDown();
  });

  const sync = '/conversation/sync';
  const tooLong = 'u'.repeat(129);

  /** [what, body (a string is sent as it is), the field the message must name] */
  const badSyncRequests: [string, unknown, string][] = [
    ['body not JSON', '{"uid": "u",', 'body'],
    ['body empty', '', 'body'],
    ['body an array', [{ uid: 'u' }], 'body'],
    ['body a string', '"u"', 'body'],
    ['body a number', '7', 'body'],
    ['body null', 'null', 'body'],
    ['missing uid', {}, 'uid'],
    ['uid empty', { uid: '' }, 'uid'],
    ['uid of 129 characters', { uid: tooLong }, 'uid'],
    ['uid a number', { uid: 42 }, 'uid'],
    ['uid null', { uid: null }, 'uid'],
    ['version -1', { uid: 'u', version: -1 }, 'version'],
    ['version 1.5', { uid: 'u', version: 1.5 }, 'version'],
    ['version "abc"', { uid: 'u', version: 'abc' }, 'version'],
    ['version "-1"', { uid: 'u', version: '-1' }, 'version'],
    ['version "1e3"', { uid: 'u', version: '1e3' }, 'version'],
    ['version true', { uid: 'u', version: true }, 'version'],
    ['version 9223372036854775808 (bare, beyond int64)', '{"uid":"u","version":9223372036854775808}', 'version'],
    ['version "9223372036854775808" (string, beyond int64)', { uid: 'u', version: '9223372036854775808' }, 'version'],
    ['version 1e30', '{"uid":"u","version":1e30}', 'version'],
    ['msg_count -1', { uid: 'u', msg_count: -1 }, 'msg_count'],
    ['msg_count 1.5', { uid: 'u', msg_count: 1.5 }, 'msg_count'],
    ['msg_count "3"', { uid: 'u', msg_count: '3' }, 'msg_count'],
    ['only_unread 2', { uid: 'u', only_unread: 2 }, 'only_unread'],
    ['only_unread true', { uid: 'u', only_unread: true }, 'only_unread'],
    ['exclude_channel_types "1"', { uid: 'u', exclude_channel_types: '1' }, 'exclude_channel_types'],
    ['exclude_channel_types [0]', { uid: 'u', exclude_channel_types: [0] }, 'exclude_channel_types'],
    ['exclude_channel_types [256]', { uid: 'u', exclude_channel_types: [256] }, 'exclude_channel_types'],
    ['exclude_channel_types ["2"]', { uid: 'u', exclude_channel_types: ['2'] }, 'exclude_channel_types'],
    ['page -1', { uid: 'u', page: -1 }, 'page'],
    ['page 1.5', { uid: 'u', page: 1.5 }, 'page'],
    ['page_size -1', { uid: 'u', page: 1, page_size: -1 }, 'page_size'],
    ['page_size 1.5', { uid: 'u', page: 1, page_size: 1.5 }, 'page_size'],
    ['page_size "10"', { uid: 'u', page: 1, page_size: '10' }, 'page_size'],
    ['include_deleted 2', { uid: 'u', include_deleted: 2 }, 'include_deleted'],
    ['include_deleted true', { uid: 'u', include_deleted: true }, 'include_deleted'],
    ['last_msg_seqs a number', { uid: 'u', last_msg_seqs: 5 }, 'last_msg_seqs'],
    // A "__proto__" member must not switch validation off.
    ['a "__proto__" member and uid 5', '{"__proto__":{},"uid":5}', 'uid'],
    ['a "__proto__" member and version -5', '{"__proto__":{},"uid":"u","version":-5}', 'version'],
    ['a "__proto__" member and last_msg_seqs 5', '{"__proto__":{},"uid":"u","last_msg_seqs":5}', 'last_msg_seqs'],
    ['a "constructor" member and uid 5', '{"constructor":null,"uid":5}', 'uid'],
    ['a "constructor" member and page -1', '{"constructor":{},"uid":"u","page":-1}', 'page'],
  ];

  it.each(badSyncRequests)('POST /conversation/sync with %s: 400 naming the field', async (_what, body, field) => {
    const response = await service.post(sync, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ msg: expect.stringContaining(field), status: 400 });
    expect(response.body.msg).toMatch(namesFirst(field));
  });

  it('still answers a good request after all of them', async () => {
    expect(await service.post(sync, { uid: 'u', version: '0', msg_count: 0, only_unread: 0, page: 0, page_size: 500, exclude_channel_types: [1, 255], last_msg_seqs: '' })).toMatchObject({
      status: 200,
      body: [],
    });
    expect(await service.post(sync, { uid: '字'.repeat(128), version: 9_223_372_036_854_775_807n, page: 1, page_size: 1 })).toMatchObject({ status: 200, body: [] });
  });

  /** What WuKongIM accepts, and real clients send, is answered 200 (a 400 the client cannot fix would stop its sync for good). */
  const lenientSyncRequests: [string, unknown][] = [
    ['page_size 0 (the default)', { uid: 'u', page: 1, page_size: 0 }],
    ['page_size 501 (means 500)', { uid: 'u', page: 1, page_size: 501 }],
    ['last_msg_seqs entry "a:1"', { uid: 'u', last_msg_seqs: 'a:1' }],
    ['last_msg_seqs entry "a:x:1"', { uid: 'u', last_msg_seqs: 'a:x:1' }],
    ['last_msg_seqs entry ":1:1"', { uid: 'u', last_msg_seqs: ':1:1' }],
    ['last_msg_seqs entry "a:1:-1"', { uid: 'u', last_msg_seqs: 'a:1:-1' }],
    ['last_msg_seqs entry "a:1:1.5"', { uid: 'u', last_msg_seqs: 'a:1:1.5' }],
    ['last_msg_seqs entry "a:0:1"', { uid: 'u', last_msg_seqs: 'a:0:1' }],
    ['last_msg_seqs second entry unreadable', { uid: 'u', last_msg_seqs: 'a:1:1|b:2:' }],
    ['last_msg_seqs with a signed-byte channel type', { uid: 'u', last_msg_seqs: 'team:-56:3' }],
    ['version not a multiple of 1024', { uid: 'u', version: '1795641817742084857' }],
  ];

  it.each(lenientSyncRequests)('POST /conversation/sync with %s: 200', async (_what, body) => {
    expect(await service.post(sync, body)).toMatchObject({ status: 200, body: [] });
  });

  it('counts the skipped last_msg_seqs entries in conversation_sync_last_msg_seqs_skipped_total', async () => {
    const skipped = async () => {
      const text = await (await fetch(`${service.api.url}/metrics`)).text();
      return Number(/^conversation_sync_last_msg_seqs_skipped_total(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1]);
    };
    const before = await skipped();
    expect((await service.post(sync, { uid: 'u', last_msg_seqs: 'a:1:1|b:x:2|c:1:|d:1:4' })).status).toBe(200);
    expect((await skipped()) - before).toBe(2);
  });

  it.each([
    ['without a Content-Type', undefined],
    ['as text/plain', 'text/plain'],
    ['as a form', 'application/x-www-form-urlencoded'],
    ['as multipart', 'multipart/form-data; boundary=x'],
    ['as application/octet-stream', 'application/octet-stream'],
  ])('reads a JSON body sent %s, as WuKongIM does', async (_what, contentType) => {
    const response = await fetch(`${service.api.url}${sync}`, {
      method: 'POST',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      body: new TextEncoder().encode('{"uid":"ct-u","page_size":501,"version":"9223372036854775807"}'),
    });
    expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: '[]' });
    const bad = await fetch(`${service.api.url}${sync}`, { method: 'POST', headers: contentType === undefined ? {} : { 'content-type': contentType }, body: new TextEncoder().encode('uid=u') });
    expect({ status: bad.status, body: await bad.json() }).toEqual({ status: 400, body: { msg: expect.stringMatching(/^body: /), status: 400 } });
  });

  const channel = { channel_id: 'c', channel_type: 1 };
  /** [path, what, body, the field the message must name] */
  const badChannelRequests: [string, string, unknown, string][] = [
    ['channels', 'body not JSON', '{"uid"', 'body'],
    ['channels', 'missing uid', {}, 'uid'],
    ['channels', 'uid of 129 characters', { uid: tooLong }, 'uid'],
    ['syncByChannels', 'body an array', [{ uid: 'u' }], 'body'],
    ['syncByChannels', 'missing uid', { channels: [channel] }, 'uid'],
    ['syncByChannels', 'missing channels', { uid: 'u' }, 'channels'],
    ['syncByChannels', 'channels an object', { uid: 'u', channels: channel }, 'channels'],
    ['syncByChannels', 'a channel not an object', { uid: 'u', channels: [channel, 'c'] }, 'channels[1]'],
    ['syncByChannels', 'a channel without channel_id', { uid: 'u', channels: [{ channel_type: 1 }] }, 'channels[0].channel_id'],
    ['syncByChannels', 'channel_id of 129 characters', { uid: 'u', channels: [{ ...channel, channel_id: tooLong }] }, 'channels[0].channel_id'],
    ['syncByChannels', 'channel_type 0', { uid: 'u', channels: [{ ...channel, channel_type: 0 }] }, 'channels[0].channel_type'],
    ['syncByChannels', 'channel_type "1"', { uid: 'u', channels: [{ ...channel, channel_type: '1' }] }, 'channels[0].channel_type'],
    ['syncByChannels', 'msg_count -1', { uid: 'u', channels: [channel], msg_count: -1 }, 'msg_count'],
    ['syncByChannels', 'too many channels', { uid: 'u', channels: Array.from({ length: 5001 }, () => channel) }, 'channels'],
    ['syncMessages', 'missing uid', { channels: [channel] }, 'uid'],
    ['syncMessages', 'missing channels', { uid: 'u' }, 'channels'],
    ['syncMessages', 'last_msg_seq -1', { uid: 'u', channels: [{ ...channel, last_msg_seq: -1 }] }, 'channels[0].last_msg_seq'],
    ['syncMessages', 'last_msg_seq 1.5', { uid: 'u', channels: [channel, { ...channel, last_msg_seq: 1.5 }] }, 'channels[1].last_msg_seq'],
    ['syncMessages', 'msg_count 1.5', { uid: 'u', channels: [channel], msg_count: 1.5 }, 'msg_count'],
    ['syncMessages', 'order_by_last 2', { uid: 'u', channels: [channel], order_by_last: 2 }, 'order_by_last'],
    ['syncMessages', 'a "__proto__" member and no uid', '{"__proto__":{},"channels":[]}', 'uid'],
  ];

  it.each(badChannelRequests)('POST /conversation/%s with %s: 400 naming the field', async (path, _what, body, field) => {
    const response = await service.post(`/conversation/${path}`, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ msg: expect.stringContaining(field), status: 400 });
    expect(response.body.msg).toMatch(namesFirst(field));
  });

  it('answers good requests to the three conversation endpoints', async () => {
    expect(await service.post('/conversation/channels', { uid: 'u' })).toMatchObject({ status: 200, body: [] });
    expect(await service.post('/conversation/syncByChannels', { uid: 'u', channels: [channel], msg_count: 0 })).toMatchObject({ status: 200, body: [] });
    expect(await service.post('/conversation/syncMessages', { uid: 'u', channels: [channel, { ...channel, last_msg_seq: 9 }], msg_count: 500, order_by_last: 1 })).toMatchObject({
      status: 200,
      body: [{ channel_id: 'c', channel_type: 1, messages: [], user_last_msg_seq: 0 }],
    });
  });

  it('answers a body over 1 MiB with 413', async () => {
    const response = await service.post(sync, { uid: 'u', last_msg_seqs: `a:1:1|${'x'.repeat(1024 * 1024)}` });
    expect(response.status).toBe(413);
    expect(response.body).toEqual({ msg: expect.any(String), status: 413 });
    expect((await service.post(sync, { uid: 'u' })).status).toBe(200);
  });

  const target = { uid: 'cmd-u', channel_id: 'cmd-c', channel_type: 1 };
  const badCommands: [string, string, unknown, string][] = [
    ['clearUnread', 'body not JSON', '{', 'body'],
    ['clearUnread', 'body an array', [target], 'body'],
    ['clearUnread', 'missing uid', { channel_id: 'c', channel_type: 1 }, 'uid'],
    ['clearUnread', 'uid of 129 characters', { ...target, uid: tooLong }, 'uid'],
    ['clearUnread', 'missing channel_id', { uid: 'u', channel_type: 1 }, 'channel_id'],
    ['clearUnread', 'channel_type 0', { ...target, channel_type: 0 }, 'channel_type'],
    ['clearUnread', 'channel_type "1"', { ...target, channel_type: '1' }, 'channel_type'],
    ['clearUnread', 'message_seq -1', { ...target, message_seq: -1 }, 'message_seq'],
    ['clearUnread', 'message_seq 1.5', { ...target, message_seq: 1.5 }, 'message_seq'],
    ['setUnread', 'missing unread', target, 'unread'],
    ['setUnread', 'unread -1', { ...target, unread: -1 }, 'unread'],
    ['setUnread', 'unread "2"', { ...target, unread: '2' }, 'unread'],
    ['setUnread', 'missing channel_type', { uid: 'u', channel_id: 'c', unread: 1 }, 'channel_type'],
    ['delete', 'body null', 'null', 'body'],
    ['delete', 'channel_id of 129 characters', { ...target, channel_id: tooLong }, 'channel_id'],
    ['delete', 'channel_type 256', { ...target, channel_type: 256 }, 'channel_type'],
    ['delete', 'uid a number', { ...target, uid: 1 }, 'uid'],
    ['delete', 'a "__proto__" member and channel_type "x"', '{"__proto__":{},"uid":"cmd-u","channel_id":"cmd-c","channel_type":"x"}', 'channel_type'],
    ['clearUnread', 'a "constructor" member and no uid', '{"constructor":null,"channel_id":"cmd-c","channel_type":1}', 'uid'],
    ['setUnread', 'a "__proto__" member and no unread', '{"__proto__":{},"uid":"cmd-u","channel_id":"cmd-c","channel_type":1}', 'unread'],
  ];

  it.each(badCommands)('POST /conversations/%s with %s: 400 naming the field', async (command, _what, body, field) => {
    const response = await service.post(`/conversations/${command}`, body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ msg: expect.stringContaining(field), status: 400 });
    expect(response.body.msg).toMatch(namesFirst(field));
  });

  describe('seeded random bodies', () => {
    const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
    const random = mulberry32(SEED);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
    const randomText = (length: number) =>
      Array.from({ length }, () => String.fromCharCode(pick([0, 9, 34, 44, 58, 92, 123, 125, 0xd800, 0x4e2d, 32 + Math.floor(random() * 95)]))).join('');
    const randomValue = (depth: number): unknown =>
      pick<() => unknown>([
        () => null,
        () => random() < 0.5,
        () => Math.floor(random() * 2 ** 64) - 2 ** 63,
        () => random() * 1e6 - 5e5,
        () => randomText(Math.floor(random() * 200)),
        () => (depth > 2 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1))),
        () => (depth > 2 ? {} : randomObject(depth + 1)),
        () => (depth > 2 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => ({ channel_id: 'fuzz', channel_type: 1, ...randomObject(depth + 1) }))),
      ])();
    const FIELDS = [
      'uid', 'version', 'last_msg_seqs', 'msg_count', 'only_unread', 'exclude_channel_types', 'page', 'page_size', 'include_deleted',
      'channel_id', 'channel_type', 'unread', 'message_seq', 'channels', 'last_msg_seq', 'order_by_last', '__proto__', 'constructor',
    ];
    const randomObject = (depth: number) => Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(FIELDS), randomValue(depth)]));
    const randomBody = (): string =>
      pick<() => string>([
        () => JSON.stringify(randomObject(0)),
        () => JSON.stringify({ uid: 'fuzz', ...randomObject(0) }),
        () => JSON.stringify(randomValue(0)) ?? 'null',
        () => randomText(Math.floor(random() * 300)),
        () => JSON.stringify(randomObject(0)).slice(0, Math.floor(random() * 40)),
      ])();

    it(`never answers 5xx to 300 random bodies on any endpoint (seed ${SEED})`, async () => {
      const paths = [
        '/conversation/sync', '/conversation/channels', '/conversation/syncByChannels', '/conversation/syncMessages',
        '/conversations/clearUnread', '/conversations/setUnread', '/conversations/delete',
      ];
      const failures: string[] = [];
      for (let i = 0; i < 300; i++) {
        const path = pick(paths);
        const body = randomBody();
        const { status, text } = await service.post(path, body);
        if (status >= 500) failures.push(`${path} ${JSON.stringify(body).slice(0, 200)} -> ${status} ${text.slice(0, 200)}`);
      }
      expect(failures).toEqual([]);
    });
  });

  describe('with API_TOKEN set', () => {
    let guarded: AppProcess;

    beforeAll(async () => {
      guarded = await AppProcess.start('api', env.appEnv({ API_TOKEN: 'secret' }));
    });

    afterAll(async () => {
      await guarded?.stop();
    });

    const post = async (path: string, headers: Record<string, string>) => {
      const response = await fetch(`${guarded.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ uid: 'token-u', channel_id: 'token-c', channel_type: 1 }),
      });
      return { status: response.status, body: await response.json() };
    };

    it.each([
      ['no token', {}, 401],
      ['token: secret', { token: 'secret' }, 200],
      ['Authorization: Bearer secret', { authorization: 'Bearer secret' }, 200],
      ['a wrong token', { token: 'secreT' }, 401],
      ['a wrong bearer', { authorization: 'Bearer secret2' }, 401],
      ['the token without Bearer', { authorization: 'secret' }, 401],
    ])('POST /conversation/sync with %s: %d', async (_what, headers, status) => {
      const response = await post(sync, headers);
      expect(response.status).toBe(status);
      if (status === 401) expect(response.body).toEqual({ msg: expect.stringContaining('token'), status: 401 });
      else expect(response.body).toEqual([]);
    });

    it('guards the conversation commands too', async () => {
      expect(await post('/conversations/delete', {})).toMatchObject({ status: 401 });
      expect(await post('/conversations/delete', { token: 'wrong' })).toMatchObject({ status: 401 });
    });

    it('the API without API_TOKEN needs none', async () => {
      expect((await service.post(sync, { uid: 'u' })).status).toBe(200);
    });
  });

  describe('invalid events', () => {
    const valid = personMessage('dlq-a', 'dlq-b', 1, { client_msg_no: 'valid' });
    /** [what, record value, the field dlq-reason must name]. Every message row claims seq 1 of the channel `valid` uses. */
    const invalidEvents: [string, string, string][] = [
      ['not JSON', '{"type":"message",', 'JSON'],
      ['not an object', '[1,2]', 'object'],
      ['no type', JSON.stringify({ uid: 'dlq-b', channel_id: 'dlq-a', channel_type: 1 }), 'type'],
      ['an unknown type', JSON.stringify({ ...valid, type: 'message_edited' }), 'type'],
      ['a message without message_seq', JSON.stringify({ ...valid, message_seq: undefined, client_msg_no: 'no-seq' }), 'message_seq'],
      ['a message with message_seq "1"', JSON.stringify({ ...valid, message_seq: '1', client_msg_no: 'string-seq' }), 'message_seq'],
      ['a message with message_seq 0', JSON.stringify({ ...valid, message_seq: 0, client_msg_no: 'zero-seq' }), 'message_seq'],
      ['a message without message_id', JSON.stringify({ ...valid, message_id: undefined, client_msg_no: 'no-id' }), 'message_id'],
      ['a message with message_id beyond int64', JSON.stringify({ ...valid, client_msg_no: 'huge-id' }).replace(`"message_id":${valid.message_id}`, '"message_id":9223372036854775808'), 'message_id'],
      ['a message with message_id "12a"', JSON.stringify({ ...valid, message_id: '12a', client_msg_no: 'bad-id' }), 'message_id'],
      ['a message with payload not base64', JSON.stringify({ ...valid, payload: 'not base64!', client_msg_no: 'bad-payload' }), 'payload'],
      ['a message with channel_type 256', JSON.stringify({ ...valid, channel_type: 256, client_msg_no: 'bad-type' }), 'channel_type'],
      ['a message with from_uid of 129 characters', JSON.stringify({ ...valid, from_uid: 'f'.repeat(129), client_msg_no: 'long-from' }), 'from_uid'],
      ['a message with timestamp "now"', JSON.stringify({ ...valid, timestamp: 'now', client_msg_no: 'bad-ts' }), 'timestamp'],
      ['a message with header.no_persist 2', JSON.stringify({ ...valid, header: { no_persist: 2 }, client_msg_no: 'bad-header' }), 'no_persist'],
      ['subscribers_added with subscribers "x"', JSON.stringify({ type: 'subscribers_added', channel_id: 'dlq-g', channel_type: 2, subscribers: 'dlq-b' }), 'subscribers'],
      ['conversation_read without uid', JSON.stringify({ type: 'conversation_read', channel_id: 'dlq-a', channel_type: 1 }), 'uid'],
      ['conversation_unread_set with unread -1', JSON.stringify({ type: 'conversation_unread_set', uid: 'dlq-b', channel_id: 'dlq-a', channel_type: 1, unread: -1 }), 'unread'],
      ['conversation_deleted with channel_type "1"', JSON.stringify({ type: 'conversation_deleted', uid: 'dlq-a', channel_id: 'dlq-b', channel_type: '1' }), 'channel_type'],
    ];

    /**
     * Every dead letter so far. The consumer sends them before its batch commits, so once the
     * batch is applied they are in the topic: a sentinel written now is read after all of them.
     */
    async function readAllDeadLetters() {
      const sentinel = `sentinel-${Date.now()}`;
      const producer = env.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({ topic: env.dlqTopic, acks: -1, messages: [{ key: sentinel, value: 'end' }] });
      await producer.disconnect();
      const consumer = env.kafka.consumer({ groupId: `${env.groupId}-${sentinel}` });
      const letters: { key: string | null; value: string | null; headers: Record<string, string> }[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: env.dlqTopic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message: letter }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(letter.headers ?? {})) headers[name] = String(value);
          letters.push({ key: letter.key?.toString() ?? null, value: letter.value?.toString() ?? null, headers });
        },
      });
      try {
        await waitFor('the dead-letter sentinel', () => letters.some((l) => l.key === sentinel), 20_000);
        return letters.filter((l) => l.key !== sentinel);
      } finally {
        await consumer.disconnect();
      }
    }

    it('sends each invalid event to the dead-letter topic once, unchanged, with why and where, and changes no state', async () => {
      const producer = env.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      try {
        // One partition keeps the order: the valid event comes after every invalid one.
        const [sent] = await producer.send({
          topic: env.topic,
          acks: -1,
          messages: invalidEvents.map(([, value], index) => ({ key: `bad-${index}`, value, partition: 0 })),
        });
        await producer.send({ topic: env.topic, acks: -1, messages: [{ key: recordKeyOf(valid), value: JSON.stringify(valid), partition: 0 }] });
        await env.waitUntilApplied();

        const ours = (await readAllDeadLetters()).filter((l) => l.key?.startsWith('bad-'));
        expect(ours.map((l) => l.key).sort()).toEqual(invalidEvents.map((_, index) => `bad-${index}`).sort());
        invalidEvents.forEach(([what, value, field], index) => {
          const letter = ours.find((l) => l.key === `bad-${index}`)!;
          expect({ what, value: letter.value }).toEqual({ what, value });
          expect({ what, reason: letter.headers['dlq-reason'] }).toEqual({ what, reason: expect.stringContaining(field) });
          expect(letter.headers).toMatchObject({
            'dlq-source-topic': env.topic,
            'dlq-source-partition': '0',
            'dlq-source-offset': String(BigInt(sent.baseOffset!) + BigInt(index)),
          });
        });
      } finally {
        await producer.disconnect();
      }

      // The valid event was applied as the first seq 1: none of the invalid ones took it.
      const [forB] = await service.sync({ uid: 'dlq-b', msg_count: 5 });
      expect(forB).toMatchObject({ channel_id: 'dlq-a', last_msg_seq: 1, last_client_msg_no: 'valid', unread: 1 });
      expect(forB.recents).toHaveLength(1);
      expect(await service.sync({ uid: 'dlq-a' })).toMatchObject([{ channel_id: 'dlq-b', unread: 0 }]);
    });

    // Last in the file: when this fails, a partition stays blocked for whatever would come after.
    it('an event with characters the storage cannot hold is applied or dead-lettered, never blocking its partition', async () => {
      /** [what, record value]: valid JSON, each on its own partition, each followed there by a valid message. */
      const rows: [string, string][] = [
        ['U+0000 in client_msg_no', JSON.stringify(personMessage('nul-a', 'nul-b', 1, { client_msg_no: 'x\u0000y' }))],
        ['U+0000 in from_uid', JSON.stringify(personMessage('nul\u0000c', 'nul-d', 1))],
        ['a lone surrogate escape in from_uid', JSON.stringify(personMessage('sur-a', 'sur-b', 1)).replace('"sur-a"', '"sur\\ud800"')],
      ];
      for (const [partition, [, value]] of rows.entries()) {
        await env.produce([value, personMessage(`after-${partition}`, 'after-u', 1)], partition);
      }

      const outcomes = await Promise.all(
        rows.map(([what], partition) =>
          waitFor(`the message after ${what}`, async () => (await service.sync({ uid: `after-${partition}` })).length === 1, 6_000).then(
            () => ({ what, followingEventApplied: true }),
            () => ({ what, followingEventApplied: false }),
          ),
        ),
      );
      expect(outcomes).toEqual(rows.map(([what]) => ({ what, followingEventApplied: true })));
    });
  });
});

/** The message starts with the field's name (not merely a longer name sharing its prefix, like page_size for page). */
function namesFirst(field: string): RegExp {
  return new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}[:.\\[ ]`);
}
