import { parseExactJson } from '../../libs/json/src';

/** JSON.stringify that writes bigint values as bare integers (for int64 fields beyond 2^53). */
export function stringifyExact(value: unknown): string {
  const marks = new Map<string, string>();
  const text = JSON.stringify(value, (_key, v) => {
    if (typeof v !== 'bigint') return v;
    const mark = `__int64_${marks.size}__`;
    marks.set(mark, v.toString());
    return mark;
  });
  return text.replace(/"__int64_\d+__"/g, (quoted) => marks.get(quoted.slice(1, -1))!);
}

export { parseExactJson };
