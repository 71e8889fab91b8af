import { Producer, ProducerRecord } from 'kafkajs';
import { channelKeyOf } from '@cs/domain';
import { EventPublisher } from './event-publisher';
import { InvalidEventError, messageRecord } from './event-records';

/** A Producer that records what it was asked to send. */
function fakeProducer() {
  const sent: ProducerRecord[] = [];
  const producer = {
    send: jest.fn(async (record: ProducerRecord) => {
      sent.push(record);
      return [{ topicName: record.topic, partition: 2, errorCode: 0, baseOffset: '17' }];
    }),
  };
  return { producer: producer as unknown as Producer, sent };
}

describe('EventPublisher', () => {
  const conversation = { uid: 'bob', channel_id: 'alice', channel_type: 1 };

  it.each([
    { method: 'publishMessage', call: (p: EventPublisher) => p.publishMessage({ message_id: '9007199254740993', message_seq: 1, from_uid: 'alice', channel_id: 'bob', channel_type: 1, timestamp: 1, payload: '' }), type: 'message' },
    { method: 'addSubscribers', call: (p: EventPublisher) => p.addSubscribers({ channel_id: 'g', channel_type: 2, subscribers: ['a'] }), type: 'subscribers_added' },
    { method: 'removeSubscribers', call: (p: EventPublisher) => p.removeSubscribers({ channel_id: 'g', channel_type: 2, subscribers: ['a'] }), type: 'subscribers_removed' },
    { method: 'markRead', call: (p: EventPublisher) => p.markRead({ ...conversation, read_to_seq: 3 }), type: 'conversation_read' },
    { method: 'setUnread', call: (p: EventPublisher) => p.setUnread({ ...conversation, unread: 1 }), type: 'conversation_unread_set' },
    { method: 'deleteConversation', call: (p: EventPublisher) => p.deleteConversation(conversation), type: 'conversation_deleted' },
  ])('$method sends one $type record, keyed by channel, to the topic with acks=all', async ({ call, type }) => {
    const { producer, sent } = fakeProducer();
    const published = await call(new EventPublisher(producer, 'im.events'));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 'im.events', acks: -1 });
    expect(sent[0].messages).toHaveLength(1);
    const [{ key, value }] = sent[0].messages;
    expect(JSON.parse(String(value)).type).toBe(type);
    expect(key).toBe(type.startsWith('subscribers') ? '[2,"g"]' : channelKeyOf(1, 'alice', 'bob'));
    expect(published).toEqual({ key, partition: 2, offset: '17' });
  });

  it('writes message_id beyond 2^53 as a bare integer', async () => {
    const { producer, sent } = fakeProducer();
    await new EventPublisher(producer, 't').publishMessage({ message_id: 9_007_199_254_740_993n, message_seq: 1, from_uid: 'a', channel_id: 'b', channel_type: 1, timestamp: 1, payload: '' });
    expect(String(sent[0].messages[0].value)).toContain('"message_id":9007199254740993,');
  });

  it('sends nothing and throws InvalidEventError for an invalid event', async () => {
    const { producer, sent } = fakeProducer();
    const publisher = new EventPublisher(producer, 't');
    await expect(publisher.setUnread({ ...conversation, unread: -1 })).rejects.toThrow(InvalidEventError);
    await expect(publisher.setUnread({ ...conversation, unread: -1 })).rejects.toThrow('invalid conversation_unread_set event: unread: must be an integer in 0..9007199254740991');
    expect(sent).toHaveLength(0);
  });

  it('publishAll sends prebuilt records in one request, and nothing for none', async () => {
    const { producer, sent } = fakeProducer();
    const publisher = new EventPublisher(producer, 't', { acks: 1, timeoutMs: 500 });
    const base = { message_id: 1n, from_uid: 'a', channel_id: 'b', channel_type: 1, timestamp: 1, payload: '' };
    await publisher.publishAll([messageRecord({ ...base, message_seq: 1 }), messageRecord({ ...base, message_seq: 2 })]);
    await publisher.publishAll([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ topic: 't', acks: 1, timeout: 500 });
    expect(sent[0].messages.map((m) => JSON.parse(String(m.value)).message_seq)).toEqual([1, 2]);
  });
});
