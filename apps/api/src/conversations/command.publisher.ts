import { channelKeyOf } from '@cs/domain';
import { CheckpointRepository } from '@cs/storage';
import { Producer } from 'kafkajs';
import { NotYetVisible, ServiceUnavailable } from '../http/errors';

export interface CommandSettings {
  topic: string;
  groupId: string;
  timeoutMs: number;
}

export type ConversationCommandEvent =
  | { type: 'conversation_read'; uid: string; channel_id: string; channel_type: number; read_to_seq?: number }
  | { type: 'conversation_unread_set'; uid: string; channel_id: string; channel_type: number; unread: number }
  | { type: 'conversation_deleted'; uid: string; channel_id: string; channel_type: number };

/**
 * Publishes a conversation event and returns once the consumer has applied it
 * (its partition's checkpoint passed the record), so the caller's next sync
 * reflects it. Past the timeout it fails rather than claim success.
 */
export class CommandPublisher {
  constructor(
    private readonly producer: Producer,
    private readonly checkpoints: CheckpointRepository,
    private readonly settings: CommandSettings,
  ) {}

  async publishAndWait(event: ConversationCommandEvent): Promise<void> {
    const deadline = Date.now() + this.settings.timeoutMs;
    let partition: number;
    let offset: string;
    try {
      const [sent] = await this.producer.send({
        topic: this.settings.topic,
        acks: -1,
        timeout: this.settings.timeoutMs,
        messages: [{ key: channelKeyOf(event.channel_type, event.uid, event.channel_id), value: JSON.stringify(event) }],
      });
      partition = sent.partition;
      offset = sent.baseOffset!;
    } catch {
      throw new ServiceUnavailable('kafka: the event could not be published, retry later');
    }
    while (Date.now() < deadline) {
      const applied = await this.checkpoints
        .hasApplied(this.settings.groupId, this.settings.topic, partition, offset)
        .catch(() => false);
      if (applied) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new NotYetVisible(`accepted but not yet visible after ${this.settings.timeoutMs} ms (partition ${partition}, offset ${offset}); it will apply, retry the sync later`);
  }
}
