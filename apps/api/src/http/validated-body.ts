import { ValidationArguments, ValidationError, ValidationTypes, getMetadataStorage, validateSync } from 'class-validator';
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
  if (verdictOf(Dto)?.(dto)) return dto;
  const errors = validateSync(dto, VALIDATOR_OPTIONS);
  if (errors.length > 0) throw new BadRequest(describe(errors[0]));
  return dto;
}

/** Unknown members are ignored anyway; these would reach into the DTO's machinery. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

const VALIDATOR_OPTIONS = { forbidUnknownValues: false, stopAtFirstError: true };

/** true: class-validator would find no error. */
type Verdict = (dto: object) => boolean;

const verdicts = new WeakMap<Function, Verdict | null>();

/** For the parity test: whether validatedBody takes the compiled verdict for this DTO (not validateSync on every request). */
export function usesCompiledVerdict(Dto: Function): boolean {
  return verdictOf(Dto) !== null;
}

/**
 * The DTO's own decorators, read once from class-validator's metadata and run
 * without its error bookkeeping: validateSync allocates an error object and a
 * few arrays per property of every request (most of a cached sync's garbage).
 * Valid bodies — nearly all — stop here; any other runs validateSync for its
 * message. null (validateSync every time) for a DTO using a kind of rule this
 * does not know. validated-body.unit.spec.ts holds both to the same verdict.
 */
function verdictOf(Dto: Function): Verdict | null {
  if (!verdicts.has(Dto)) verdicts.set(Dto, compileVerdict(Dto));
  return verdicts.get(Dto)!;
}

function compileVerdict(Dto: Function): Verdict | null {
  const storage = getMetadataStorage();
  // The arguments validateSync's executor passes: no schema, no groups, `always` off.
  const metadatas = storage.getTargetValidationMetadatas(Dto, undefined as unknown as string, false, false, undefined);
  if (metadatas.some((m) => !KNOWN_TYPES.has(m.type) || m.validateIf !== undefined)) return null;
  const properties = Object.entries(storage.groupByPropertyName(metadatas)).map(([property, rules]) => ({
    property,
    conditions: rules.filter((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION).map((m) => m.constraints[0] as (dto: object, value: unknown) => boolean),
    checks: rules.filter((m) => m.type === ValidationTypes.CUSTOM_VALIDATION).map((m) => constraintChecks(m, property)),
  }));
  if (properties.some(({ checks }) => checks.includes(null))) return null;
  return (dto) =>
    properties.every(({ property, conditions, checks }) => {
      const value = (dto as Record<string, unknown>)[property];
      return !conditions.every((applies) => applies(dto, value)) || checks.every((check) => check!(dto, value));
    });
}

const KNOWN_TYPES = new Set<string>([ValidationTypes.CONDITIONAL_VALIDATION, ValidationTypes.CUSTOM_VALIDATION]);

type Check = (dto: object, value: unknown) => boolean;
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/** A custom rule's check: every constraint class of it holds (`each`: for every item, as class-validator does); null if one is asynchronous. */
function constraintChecks(metadata: ValidationMetadata, property: string): Check | null {
  const constraints = getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls);
  if (constraints.some((c) => c.async)) return null;
  return (dto, value) => {
    const args: ValidationArguments = { targetName: dto.constructor.name, property, object: dto, value, constraints: metadata.constraints };
    const valid = (item: unknown) => constraints.every(({ instance }) => instance.validate(item, args) === true);
    return metadata.each && (Array.isArray(value) || value instanceof Set || value instanceof Map) ? [...value.values()].every(valid) : valid(value);
  };
}

function describe(error: ValidationError): string {
  const message = Object.values(error.constraints ?? {})[0];
  if (message) return /^[:.[]/.test(message.slice(error.property.length)) && message.startsWith(error.property) ? message : `${error.property}: ${message}`;
  const child = error.children?.[0];
  return child ? `${error.property}.${describe(child)}` : `${error.property}: invalid`;
}
