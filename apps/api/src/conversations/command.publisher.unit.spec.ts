import { EventPublisher } from '@cs/events';
import { CheckpointRepository } from '@cs/storage';
import { Producer } from 'kafkajs';
import { CommandPublisher } from './command.publisher';

/** How a command's publish outcome becomes its answer (Kafka and PostgreSQL themselves: test/commands.e2e.spec.ts). */
describe('CommandPublisher', () => {
  const settings = { topic: 'im.events', groupId: 'g', timeoutMs: 200 };
  const appliedAt = (offset: string) => ({ hasApplied: async (_g: string, _t: string, _p: number, asked: string) => asked === offset }) as unknown as CheckpointRepository;
  const producer = (send: () => Promise<unknown>) => ({ send }) as unknown as Producer;
  const conversation = { uid: 'bob', channel_id: 'alice', channel_type: 1 };

  const sent = producer(async () => [{ partition: 1, baseOffset: '7' }]);

  // given what Kafka does with the event, then the command's answer (undefined = 200)
  it.each([
    ['applied', 1, sent, undefined],
    ['an event the consumer would dead-letter, never sent', -1, sent, { status: 400, msg: 'unread: must be an integer in 0..9007199254740991' }],
    ['Kafka refusing the send', 1, producer(async () => Promise.reject(new Error('broker down'))), { status: 503, msg: 'kafka: the event could not be published, retry later' }],
  ] as const)('%s', async (_what, unread, kafka, expected) => {
    const commands = new CommandPublisher(new EventPublisher(kafka, settings.topic), appliedAt('7'), settings);
    const outcome = await commands.setUnread({ ...conversation, unread }).then(
      () => undefined,
      (error: { getStatus(): number; getResponse(): { msg: string } }) => ({ status: error.getStatus(), msg: error.getResponse().msg }),
    );
    expect(outcome).toEqual(expected);
  });

  it('answers 504 when the event is not applied in time', async () => {
    const commands = new CommandPublisher(new EventPublisher(producer(async () => [{ partition: 2, baseOffset: '9' }]), settings.topic), appliedAt('never'), settings);
    await expect(commands.deleteConversation(conversation)).rejects.toMatchObject({ status: 504 });
  });
});
