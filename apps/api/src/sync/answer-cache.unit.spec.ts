import { AnswerCache } from './answer-cache';

const bytes = (text: string) => Buffer.from(text);
const text = (body: Buffer | undefined) => body?.toString();

describe('AnswerCache', () => {
  it.each([
    { case: 'same stamp: hit', stored: 5n, asked: 5n, hit: true },
    { case: 'newer stamp: miss', stored: 5n, asked: 6n, hit: false },
    { case: 'older stamp: miss', stored: 5n, asked: 4n, hit: false },
  ])('$case', ({ stored, asked, hit }) => {
    const cache = new AnswerCache(1_000);
    cache.set('k', stored, bytes('[1]'));
    expect(text(cache.get('k', asked))).toBe(hit ? '[1]' : undefined);
  });

  it('evicts the least recently used entries beyond its byte budget', () => {
    const cache = new AnswerCache(20); // each entry: 1 byte of key + 4 of body
    cache.set('a', 1n, bytes('aaaa'));
    cache.set('b', 1n, bytes('bbbb'));
    cache.set('c', 1n, bytes('cccc'));
    cache.set('d', 1n, bytes('dddd'));
    expect(text(cache.get('a', 1n))).toBe('aaaa');
    cache.set('e', 1n, bytes('eeee'));
    expect(text(cache.get('b', 1n))).toBeUndefined();
    expect([text(cache.get('a', 1n)), text(cache.get('c', 1n)), text(cache.get('d', 1n)), text(cache.get('e', 1n))]).toEqual(['aaaa', 'cccc', 'dddd', 'eeee']);
  });

  it('does not keep an answer larger than a quarter of its budget', () => {
    const cache = new AnswerCache(40);
    cache.set('big', 1n, bytes('x'.repeat(10)));
    expect(text(cache.get('big', 1n))).toBeUndefined();
  });

  it('replaces an entry stored again under a new stamp', () => {
    const cache = new AnswerCache(100);
    cache.set('k', 1n, bytes('old'));
    cache.set('k', 2n, bytes('new'));
    expect(text(cache.get('k', 1n))).toBeUndefined();
    expect(text(cache.get('k', 2n))).toBe('new');
  });
});
