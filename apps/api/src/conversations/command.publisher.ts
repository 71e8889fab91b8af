import { ConversationInput, EventPublisher, InvalidEventError, PublishedEvent, ReadInput, UnreadInput } from '@cs/events';
import { CheckpointRepository } from '@cs/storage';
import { BadRequest, NotYetVisible, ServiceUnavailable } from '../http/errors';

export interface CommandSettings {
  topic: string;
  groupId: string;
  timeoutMs: number;
}

/**
 * Publishes a conversation event through the producers' own EventPublisher
 * (validated, keyed by channel) and returns once the consumer has applied it
 * (its partition's checkpoint passed the record), so the caller's next sync
 * reflects it. Past the timeout it fails rather than claim success.
 */
export class CommandPublisher {
  constructor(
    private readonly events: EventPublisher,
    private readonly checkpoints: CheckpointRepository,
    private readonly settings: CommandSettings,
  ) {}

  markRead(input: ReadInput): Promise<void> {
    return this.publishAndWait(() => this.events.markRead(input));
  }

  setUnread(input: UnreadInput): Promise<void> {
    return this.publishAndWait(() => this.events.setUnread(input));
  }

  deleteConversation(input: ConversationInput): Promise<void> {
    return this.publishAndWait(() => this.events.deleteConversation(input));
  }

  private async publishAndWait(publish: () => Promise<PublishedEvent>): Promise<void> {
    const deadline = Date.now() + this.settings.timeoutMs;
    const { partition, offset } = await publish().catch((error: unknown) => {
      if (error instanceof InvalidEventError) throw new BadRequest(error.reason);
      throw new ServiceUnavailable('kafka: the event could not be published, retry later');
    });
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
