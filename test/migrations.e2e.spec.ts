import { Client } from 'pg';
import { ensureDatabase, migrate, redisKeys } from '@cs/storage';
import { MIGRATIONS } from '../libs/storage/src/postgres/migrations';
import { RunningService } from './support/app-process';
import { TestEnvironment, withDatabase } from './support/test-environment';
import { waitFor } from './support/wait-for';

/**
 * Migration 5 on a database written by the release before it: messages
 * stored without client_msg_no take their message id (record, rendered body
 * and every head pointing at them), the version clock moves up to a multiple
 * of 1024, and Redis (an older layout) is rebuilt so answers show the fix.
 */
describe('migration 5 (real PostgreSQL, then the running apps)', () => {
  const env = new TestEnvironment('migration-5');

  beforeAll(async () => {
    await env.setUp();
    await ensureDatabase(env.databaseUrl);
    await withDatabase(env.databaseUrl, async (client) => {
      await applyMigrationsBefore(client, 5);
      await writeRowsOfTheOldRelease(client);
    });
  });

  afterAll(async () => {
    await env.tearDown();
  });

  it('fills every empty client_msg_no with the message id and steps the clock; the apps then answer with it', async () => {
    expect(await migrate(env.databaseUrl)).toEqual([5, 6, 7, 8, 9, 10]);
    await withDatabase(env.databaseUrl, async (client) => {
      const messages = await client.query('SELECT seq, client_msg_no, body FROM messages ORDER BY channel_key, seq');
      expect(messages.rows.map((r) => [r.seq, r.client_msg_no])).toEqual([['1', '9223372036854775807'], ['2', 'kept'], ['1', '501']]);
      expect(messages.rows.map((r) => JSON.parse(`{${r.body}}`).client_msg_no)).toEqual(['9223372036854775807', 'kept', '501']);
      const heads = await client.query(`SELECT
          (SELECT broadcast_head->>'clientMsgNo' FROM channels) AS broadcast,
          (SELECT direct_head->>'clientMsgNo' FROM conversations WHERE uid = 'mg-ann') AS direct,
          (SELECT frozen_head->>'clientMsgNo' FROM conversations WHERE uid = 'mg-left') AS frozen,
          (SELECT version::text FROM version_clock) AS clock`);
      expect(heads.rows[0]).toEqual({ broadcast: '501', direct: '9223372036854775807', frozen: '501', clock: '1795641817742085120' });
    });

    await env.redis.set('cs:complete:3', '1'); // the old layout's marker means nothing to this release
    const service = await RunningService.start(env);
    try {
      const expectFixedAnswers = async () => {
        const [person] = await service.sync({ uid: 'mg-ben', msg_count: 5 });
        expect(person).toMatchObject({ channel_id: 'mg-ann', last_client_msg_no: '9223372036854775807', recents: [{ client_msg_no: '9223372036854775807' }] });
        const [group] = await service.sync({ uid: 'mg-member', msg_count: 5 });
        expect(group).toMatchObject({ channel_id: 'mg:g', last_client_msg_no: '501', recents: [{ client_msg_no: '501' }] });
      };
      await expectFixedAnswers(); // from PostgreSQL: Redis is not complete under this layout
      await waitFor('the consumer to rebuild Redis under the new layout', async () => (await env.redis.exists(redisKeys.complete)) === 1);
      await expectFixedAnswers(); // from Redis
    } finally {
      await service.stop();
    }
  });
});

async function applyMigrationsBefore(client: Client, id: number): Promise<void> {
  await client.query('CREATE TABLE schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const migration of MIGRATIONS.filter((m) => m.id < id)) {
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [migration.id, migration.name]);
  }
}

/** Rows as the previous release wrote them: client_msg_no "" kept as it came. */
async function writeRowsOfTheOldRelease(client: Client): Promise<void> {
  const person = JSON.stringify([1, 'mg-ann', 'mg-ben']);
  const group = JSON.stringify([2, 'mg:g']);
  const body = (id: string, seq: number, clientMsgNo: string, from: string, type: number) =>
    `"message_id":${id},"message_idstr":"${id}","message_seq":${seq},"client_msg_no":${JSON.stringify(clientMsgNo)},"from_uid":"${from}",` +
    `"channel_type":${type},"timestamp":1700000000,"payload":"","header":{"no_persist":0,"red_dot":0,"sync_once":0},"setting":0,"expire":0,"topic":""`;
  const head = (seq: number, clientMsgNo: string) => JSON.stringify({ seq, timestamp: 1700000000, clientMsgNo });
  await client.query(
    `INSERT INTO messages (channel_key, seq, message_id, from_uid, timestamp, client_msg_no, version, recipients, body) VALUES
       ($1, 1, 9223372036854775807, 'mg-ann', 1700000000, '', 1795641817742084001, '["mg-ann","mg-ben"]', $3),
       ($1, 2, 7, 'mg-ann', 1700000000, 'kept', 1795641817742084002, '["mg-ann","mg-ben"]', $4),
       ($2, 1, 501, 'mg-x', 1700000000, '', 1795641817742084003, NULL, $5)`,
    [person, group, body('9223372036854775807', 1, '', 'mg-ann', 1), body('7', 2, 'kept', 'mg-ann', 1), body('501', 1, '', 'mg-x', 2)],
  );
  await client.query(`INSERT INTO channels VALUES ($1, 2, 1, $2, 1795641817742084003)`, [group, head(1, '')]);
  const conversation = `INSERT INTO conversations VALUES ($1, $2, $3, $4, 0, 0, 0, $5, $6, $7, $8, $9, NULL)`;
  await client.query(conversation, ['mg-ben', person, 'mg-ann', 1, head(1, ''), 'none', null, null, '1795641817742084001']);
  await client.query(conversation, ['mg-ann', person, 'mg-ben', 1, head(1, ''), 'none', null, null, '1795641817742084001']);
  await client.query(conversation, ['mg-member', group, 'mg:g', 2, null, 'member', null, null, '1795641817742084003']);
  await client.query(conversation, ['mg-left', group, 'mg:g', 2, null, 'left', '1795641817742084004', head(1, ''), '1795641817742084004']);
  await client.query('UPDATE version_clock SET version = 1795641817742084857');
}
