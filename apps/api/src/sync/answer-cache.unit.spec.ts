import { AnswerCache } from './answer-cache';

describe('AnswerCache', () => {
  it.each([
    { case: 'same stamp: hit', stored: 5n, asked: 5n, hit: true },
    { case: 'newer stamp: miss', stored: 5n, asked: 6n, hit: false },
    { case: 'older stamp: miss', stored: 5n, asked: 4n, hit: false },
  ])('$case', ({ stored, asked, hit }) => {
    const cache = new AnswerCache(1_000);
    cache.set('k', stored, '[1]');
    expect(cache.get('k', asked)).toBe(hit ? '[1]' : undefined);
  });

  it('evicts the least recently used entries beyond its byte budget', () => {
    const cache = new AnswerCache(20); // each entry: 1 byte of key + 4 of body
    cache.set('a', 1n, 'aaaa');
    cache.set('b', 1n, 'bbbb');
    cache.set('c', 1n, 'cccc');
    cache.set('d', 1n, 'dddd');
    expect(cache.get('a', 1n)).toBe('aaaa');
    cache.set('e', 1n, 'eeee');
    expect(cache.get('b', 1n)).toBeUndefined();
    expect([cache.get('a', 1n), cache.get('c', 1n), cache.get('d', 1n), cache.get('e', 1n)]).toEqual(['aaaa', 'cccc', 'dddd', 'eeee']);
  });

  it('does not keep an answer larger than a quarter of its budget', () => {
    const cache = new AnswerCache(40);
    cache.set('big', 1n, 'x'.repeat(10));
    expect(cache.get('big', 1n)).toBeUndefined();
  });

  it('replaces an entry stored again under a new stamp', () => {
    const cache = new AnswerCache(100);
    cache.set('k', 1n, 'old');
    cache.set('k', 2n, 'new');
    expect(cache.get('k', 1n)).toBeUndefined();
    expect(cache.get('k', 2n)).toBe('new');
  });
});
