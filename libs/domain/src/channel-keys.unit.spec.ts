import { PERSON_CHANNEL } from './events';
import { channelKeyOf, channelKeyOfEvent } from './channel-keys';
import { GROUP, deleted, groupMessage, joined, personMessage, read, removed, unreadSet } from './testing/events';

describe('channelKeyOfEvent: the channel every record an event changes belongs to', () => {
  const alicesAndBobs = channelKeyOf(PERSON_CHANNEL, 'alice', 'bob');
  const team = channelKeyOf(GROUP, '', 'team');

  it.each([
    { event: personMessage('alice', 'bob', 1), key: alicesAndBobs },
    { event: personMessage('bob', 'alice', 2), key: alicesAndBobs },
    { event: read('bob', 'alice', PERSON_CHANNEL), key: alicesAndBobs },
    { event: unreadSet('alice', 'bob', PERSON_CHANNEL, 1), key: alicesAndBobs },
    { event: deleted('bob', 'alice', PERSON_CHANNEL), key: alicesAndBobs },
    { event: groupMessage('team', 'alice', 1), key: team },
    { event: joined('team', ['alice']), key: team },
    { event: removed('team', ['alice']), key: team },
    { event: read('alice', 'team', GROUP), key: team },
    { event: deleted('alice', 'team', GROUP), key: team },
    { event: joined('team', ['alice'], 3), key: channelKeyOf(3, '', 'team') },
  ])('$event.type in $key', ({ event, key }) => {
    expect(channelKeyOfEvent(event)).toBe(key);
  });

  it('is the same JSON array key from both sides of a person channel, and never collides across types', () => {
    expect(alicesAndBobs).toBe('[1,"alice","bob"]');
    expect(channelKeyOf(PERSON_CHANNEL, 'bob', 'alice')).toBe(alicesAndBobs);
    expect(channelKeyOf(GROUP, '', 'team')).not.toBe(channelKeyOf(3, '', 'team'));
  });
});
