import { ValidationError, validateSync } from 'class-validator';
import { BadRequest } from './errors';

/** Validates a parsed JSON body against a class-validator DTO; 400 naming the first bad field. */
export function validatedBody<T extends object>(Dto: new () => T, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('body: must be a JSON object');
  const dto = new Dto();
  // Own properties only, defined (not assigned), and never the names class-validator finds its
  // rules through: a "__proto__" or "constructor" member must not switch validation off.
  for (const [key, value] of Object.entries(body)) {
    if (!RESERVED_NAMES.has(key)) Object.defineProperty(dto, key, { value, enumerable: true, writable: true, configurable: true });
  }
  const errors = validateSync(dto, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length > 0) throw new BadRequest(describe(errors[0]));
  return dto;
}

/** Unknown members are ignored anyway; these would reach into the DTO's machinery. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

function describe(error: ValidationError): string {
  const message = Object.values(error.constraints ?? {})[0];
  if (message) return /^[:.[]/.test(message.slice(error.property.length)) && message.startsWith(error.property) ? message : `${error.property}: ${message}`;
  const child = error.children?.[0];
  return child ? `${error.property}.${describe(child)}` : `${error.property}: invalid`;
}
