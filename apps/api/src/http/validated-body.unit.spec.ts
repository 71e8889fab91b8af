import 'reflect-metadata';
import { getMetadataStorage, validateSync } from 'class-validator';
import { mulberry32 } from '../../../../libs/domain/src/testing/random';
import { ClearUnreadDto, DeleteConversationDto, SetUnreadDto } from '../conversations/command-requests.dto';
import { ConversationChannelsRequestDto, SyncByChannelsRequestDto, SyncMessagesRequestDto } from '../sync/conversation-channels.dto';
import { SyncRequestDto } from '../sync/sync-request.dto';
import { BadRequest } from './errors';
import { usesCompiledVerdict, validatedBody } from './validated-body';

const DTOS: (new () => object)[] = [
  SyncRequestDto,
  ConversationChannelsRequestDto,
  SyncByChannelsRequestDto,
  SyncMessagesRequestDto,
  ClearUnreadDto,
  SetUnreadDto,
  DeleteConversationDto,
];

/** Values a JSON body can carry (exact parsing turns big integers into bigints), good and bad for every field kind. */
const VALUES: unknown[] = [
  undefined, null, true, false, 0, 1, 2, -1, 1.5, 40, 255, 256, 2 ** 53, 2 ** 53 + 2,
  0n, 5n, -1n, 1795641817742084857n, 9223372036854775807n, 9223372036854775808n,
  '', 'bob', 'x'.repeat(128), 'x'.repeat(129), 'a\u0000b', '\ud800', '12', '-5', '1795641817742084857', 'alice:1:40|team:2:9',
  [], [1], [3, 4], [0], [1, 300], Array.from({ length: 256 }, () => 1), ['a'], [{}],
  {}, { channel_id: 'team', channel_type: 2 },
  [{ channel_id: 'team', channel_type: 2 }], [{ channel_id: 'team', channel_type: 2, last_msg_seq: 5 }], [{ channel_id: '', channel_type: 2 }],
  [{ channel_id: 'team', channel_type: 0 }], [{ channel_id: 'team', channel_type: 2, last_msg_seq: -1 }],
];

function propertiesOf(Dto: Function): string[] {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(Dto, undefined as unknown as string, false, false, undefined);
  return [...new Set(metadatas.map((m) => m.propertyName))];
}

/** Per property (and one the DTO does not know), the VALUES class-validator accepts there: most bodies then mix good and bad fields. */
function goodValuesByProperty(Dto: new () => object): Map<string, unknown[]> {
  const good = new Map<string, unknown[]>([['unknown_field', VALUES]]);
  for (const property of propertiesOf(Dto)) {
    const fine = (value: unknown) => !validateSync(Object.assign(new Dto(), { [property]: value }), { forbidUnknownValues: false }).some((e) => e.property === property);
    good.set(property, VALUES.filter(fine));
  }
  return good;
}

/** class-validator's own answer for the same body, copied as validatedBody copies it. */
function classValidatorAccepts(Dto: new () => object, body: Record<string, unknown>): boolean {
  const dto = Object.assign(new Dto(), body);
  return validateSync(dto, { forbidUnknownValues: false, stopAtFirstError: true }).length === 0;
}

describe('validatedBody: its verdict read from the DTOs’ decorators is class-validator’s', () => {
  it.each(DTOS.map((Dto) => [Dto.name, Dto] as const))('%s takes the compiled verdict', (_name, Dto) => {
    expect(usesCompiledVerdict(Dto)).toBe(true);
  });

  it.each(DTOS.map((Dto) => [Dto.name, Dto] as const))('%s: 3,000 random bodies, the same verdict', (_name, Dto) => {
    const random = mulberry32(Dto.name.length * 7919);
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
    const good = goodValuesByProperty(Dto);
    let accepted = 0;
    for (let i = 0; i < 3_000; i++) {
      const body: Record<string, unknown> = {};
      for (const [property, values] of good) {
        const r = random();
        if (r < 0.3) continue;
        body[property] = r < 0.85 && values.length > 0 ? pick(values) : pick(VALUES);
      }
      const expected = classValidatorAccepts(Dto, body);
      let outcome: true | string;
      try {
        validatedBody(Dto, body);
        outcome = true;
      } catch (error) {
        if (!(error instanceof BadRequest)) throw error;
        outcome = error.message;
      }
      if (expected !== (outcome === true)) throw new Error(`body ${JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}: class-validator ${expected ? 'accepts' : 'refuses'}, validatedBody ${outcome === true ? 'accepts' : `refuses (${outcome})`}`);
      if (expected) accepted++;
    }
    // Both verdicts must be exercised, or the comparison above proves little.
    expect(accepted).toBeGreaterThan(30);
    expect(accepted).toBeLessThan(2_970);
  });
});
