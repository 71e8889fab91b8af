import { hex } from './redis-layout';

describe('hex: the UTF-8 bytes of an id, as key tags hold them', () => {
  it.each([
    ['empty', ''],
    ['ASCII', 'user-42_[1,"a","b"]'],
    ['control and DEL', '\u0000\u001f\u007f'],
    ['two-byte', 'müller'],
    ['three-byte', '用户'],
    ['astral (surrogate pair)', 'a😀b'],
  ])('%s equals what Buffer encodes', (_name, id) => expect(hex(id)).toBe(Buffer.from(id, 'utf8').toString('hex')));
});
