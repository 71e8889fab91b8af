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
        validate: (value) => typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
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
