import { MAX_ID_LENGTH, MAX_SEQ, isStorableText, isValidId, toInt64 } from '@cs/domain';
import { ValidationOptions, ValidateBy, buildMessage } from 'class-validator';

/** A uid or channel id: a non-empty string of at most 128 characters. */
export function IsId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isId',
      validator: {
        validate: (value) => isValidId(value),
        defaultMessage: buildMessage(
          (each) => `$property: ${each}must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL or unpaired surrogates`,
          options,
        ),
      },
    },
    options,
  );
}

/** An integer in min..max given as a JSON number. */
export function IsIntIn(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIntIn',
      validator: {
        validate: (value) => isIntIn(value, min, max),
        defaultMessage: buildMessage((each) => `$property: ${each}must be an integer in ${min}..${max}`, options),
      },
    },
    options,
  );
}

export const IsSeq = (options?: ValidationOptions) => IsIntIn(0, MAX_SEQ, options);

/** A non-negative int64 given as a JSON integer of any size or a decimal string. */
export function IsVersion(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isVersion',
      validator: {
        validate: (value) => {
          const parsed = toInt64(value);
          return parsed !== undefined && parsed >= 0n;
        },
        defaultMessage: buildMessage(() => '$property: must be an integer in 0..9223372036854775807', options),
      },
    },
    options,
  );
}

export function IsTextOfAtMost(maxLength: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isTextOfAtMost',
      validator: {
        validate: (value) => typeof value === 'string' && value.length <= maxLength && isStorableText(value),
        defaultMessage: buildMessage(() => `$property: must be a string of at most ${maxLength} characters`, options),
      },
    },
    options,
  );
}

export function IsListOfAtMost(maxItems: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isListOfAtMost',
      validator: {
        validate: (value) => Array.isArray(value) && value.length <= maxItems,
        defaultMessage: buildMessage(() => `$property: must be an array of at most ${maxItems} items`, options),
      },
    },
    options,
  );
}

/**
 * An array of at most `maxItems` channels `{channel_id, channel_type}` (and,
 * `withSeq`, an optional `last_msg_seq`); the message names the first bad item's field.
 */
export function IsChannelList(maxItems: number, withSeq: boolean, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isChannelList',
      validator: {
        validate: (value) => channelListProblem(value, maxItems, withSeq) === null,
        defaultMessage: (args) => `${args?.property}${channelListProblem(args?.value, maxItems, withSeq)}`,
      },
    },
    options,
  );
}

function channelListProblem(value: unknown, maxItems: number, withSeq: boolean): string | null {
  if (!Array.isArray(value) || value.length > maxItems) return `: must be an array of at most ${maxItems} channels`;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `[${i}]: must be an object {channel_id, channel_type}`;
    const { channel_id, channel_type, last_msg_seq } = item as Record<string, unknown>;
    if (!isValidId(channel_id)) return `[${i}].channel_id: must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without NUL or unpaired surrogates`;
    if (!isIntIn(channel_type, 1, 255)) return `[${i}].channel_type: must be an integer in 1..255`;
    if (withSeq && last_msg_seq !== undefined && !isIntIn(last_msg_seq, 0, MAX_SEQ)) return `[${i}].last_msg_seq: must be an integer in 0..${MAX_SEQ}`;
  }
  return null;
}

function isIntIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
