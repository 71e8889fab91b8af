import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, effectivePageSize, lastMsgSeqKey, parseLastMsgSeqs } from './sync-request';

const entriesOf = (entries: [string, number, number][]) => new Map(entries.map(([id, type, seq]) => [lastMsgSeqKey(id, type), seq]));

describe('parseLastMsgSeqs: valid', () => {
  it.each([
    { text: '', entries: [] },
    { text: 'a:1:5', entries: [['a', 1, 5]] },
    { text: 'a:1:0', entries: [['a', 1, 0]] },
    { text: 'g:255:9007199254740991', entries: [['g', 255, 9_007_199_254_740_991]] },
    { text: 'a:1:5|g:2:7', entries: [['a', 1, 5], ['g', 2, 7]] },
    { text: 'a:b:2:7', entries: [['a:b', 2, 7]] },
    { text: '::2:7', entries: [[':', 2, 7]] },
    { text: 'x@y:z:1:3|群:聊 天:2:4', entries: [['x@y:z', 1, 3], ['群:聊 天', 2, 4]] },
    { text: '{a} @b:3:1', entries: [['{a} @b', 3, 1]] },
    { text: '|a:1:5||g:2:7|', entries: [['a', 1, 5], ['g', 2, 7]] },
    { text: `${'字'.repeat(128)}:2:1`, entries: [['字'.repeat(128), 2, 1]] },
    { text: `${'😀'.repeat(128)}:2:1`, entries: [['😀'.repeat(128), 2, 1]] },
  ])('parses "$text"', ({ text, entries }) => {
    expect(parseLastMsgSeqs(text)).toEqual({ value: entriesOf(entries as [string, number, number][]), skipped: [] });
  });

  it.each([
    { text: 'team:-56:3', type: 200 },
    { text: 'team:-1:3', type: 255 },
    { text: 'team:-128:3', type: 128 },
  ])('reads the negative channel type in "$text" as the signed byte it is: $type', ({ text, type }) => {
    expect(parseLastMsgSeqs(text)).toEqual({ value: entriesOf([['team', type, 3]]), skipped: [] });
  });

  it('keys by channel id and type: the same id with another type is another entry', () => {
    const { value } = parseLastMsgSeqs('a:1:5|a:2:6');
    expect([value.get(lastMsgSeqKey('a', 1)), value.get(lastMsgSeqKey('a', 2))]).toEqual([5, 6]);
  });
});

describe('parseLastMsgSeqs: unreadable entries are skipped, as WuKongIM does', () => {
  it.each([
    'a',
    'a:1',
    ':1:5',
    ':5',
    'a::5',
    'a:1:',
    'a:0:5',
    'a:256:5',
    'a:-129:5',
    'a:-0:5',
    'a:x:5',
    'a:+1:5',
    'a:1.0:5',
    'a:1:-1',
    'a:1:1.5',
    'a:1:5 ',
    'a:1:1e3',
    'a:1:0x10',
    'a:1:9007199254740992',
    'a:1:12345678901234567',
    `${'a'.repeat(129)}:1:5`,
    `${'😀'.repeat(129)}:1:5`,
  ])('skips "%s" and keeps the valid entries around it', (bad) => {
    const result = parseLastMsgSeqs(`ok:1:4|${bad}|ok:2:6`);
    expect(result.value).toEqual(entriesOf([['ok', 1, 4], ['ok', 2, 6]]));
    expect(result.skipped).toHaveLength(1);
  });

  it('says which entry was skipped and why', () => {
    expect(parseLastMsgSeqs('a:1:5|g:2:x').skipped).toEqual(['entry 2 ("g:2:x"): seq must be an integer in 0..9007199254740991']);
  });
});

describe('effectivePageSize', () => {
  it.each([
    { requested: undefined, size: DEFAULT_PAGE_SIZE },
    { requested: 0, size: DEFAULT_PAGE_SIZE },
    { requested: 1, size: 1 },
    { requested: MAX_PAGE_SIZE, size: MAX_PAGE_SIZE },
    { requested: MAX_PAGE_SIZE + 1, size: MAX_PAGE_SIZE },
    { requested: 1e15, size: MAX_PAGE_SIZE },
  ])('page_size $requested means $size', ({ requested, size }) => {
    expect(effectivePageSize(requested)).toBe(size);
  });
});
