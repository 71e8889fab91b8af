import { Producer, RecordMetadata } from 'kafkajs';
import {
  ConversationInput,
  EventRecord,
  MembershipInput,
  MessageInput,
  ReadInput,
  UnreadInput,
  conversationDeletedRecord,
  conversationReadRecord,
  conversationUnreadSetRecord,
  messageRecord,
  subscribersAddedRecord,
  subscribersRemovedRecord,
} from './event-records';

/** Where a published event landed: enough to wait until the consumer has applied it. */
export interface PublishedEvent {
  key: string;
  partition: number;
  offset: string;
}

export interface EventPublisherOptions {
  /** kafkajs acks: -1 (all in-sync replicas, the default), 1 or 0. */
  acks?: number;
  /** Broker-side timeout of a send, in ms. */
  timeoutMs?: number;
}

/**
 * Publishes IM events to KAFKA_TOPIC for conversation-sync. Each method builds
 * the event, checks it with the consumer's own validation (throwing
 * InvalidEventError naming the field, before anything is sent), writes
 * `message_id` as a bare JSON integer, and keys the record by channel so a
 * channel's events stay in order.
 *
 * Give it a producer that partitions by murmur2 of the key, as Java producers
 * do (`createPartitioner: Partitioners.DefaultPartitioner`, which `createKeyedProducer`
 * in libs/kafka sets), so every producer puts a channel on the same partition.
 *
 *   const publisher = new EventPublisher(producer, 'im.events');
 *   await publisher.publishMessage({ message_id: 9007199254740993n, message_seq: 1, from_uid: 'alice',
 *     channel_id: 'bob', channel_type: 1, timestamp: 1764100000, payload: Buffer.from('hi') });
 */
export class EventPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly options: EventPublisherOptions = {},
  ) {}

  async publishMessage(input: MessageInput): Promise<PublishedEvent> {
    return this.publishOne(messageRecord(input));
  }

  async addSubscribers(input: MembershipInput): Promise<PublishedEvent> {
    return this.publishOne(subscribersAddedRecord(input));
  }

  async removeSubscribers(input: MembershipInput): Promise<PublishedEvent> {
    return this.publishOne(subscribersRemovedRecord(input));
  }

  async markRead(input: ReadInput): Promise<PublishedEvent> {
    return this.publishOne(conversationReadRecord(input));
  }

  async setUnread(input: UnreadInput): Promise<PublishedEvent> {
    return this.publishOne(conversationUnreadSetRecord(input));
  }

  async deleteConversation(input: ConversationInput): Promise<PublishedEvent> {
    return this.publishOne(conversationDeletedRecord(input));
  }

  /** Sends records built with the `*Record` functions in one request (already validated). */
  async publishAll(records: EventRecord[]): Promise<RecordMetadata[]> {
    if (records.length === 0) return [];
    return this.producer.send({
      topic: this.topic,
      acks: this.options.acks ?? -1,
      timeout: this.options.timeoutMs,
      messages: records.map(({ key, value }) => ({ key, value })),
    });
  }

  private async publishOne(record: EventRecord): Promise<PublishedEvent> {
    const [sent] = await this.publishAll([record]);
    return { key: record.key, partition: sent.partition, offset: sent.baseOffset ?? sent.offset ?? '' };
  }
}
