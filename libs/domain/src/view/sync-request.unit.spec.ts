import { lastMsgSeqKey, parseLastMsgSeqs } from './sync-request';

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
  ])('parses "$text"', ({ text, entries }) => {
    const expected = new Map((entries as [string, number, number][]).map(([id, type, seq]) => [lastMsgSeqKey(id, type), seq]));
    expect(parseLastMsgSeqs(text)).toEqual({ ok: true, value: expected });
  });

  it('keys by channel id and type: the same id with another type is another entry', () => {
    const result = parseLastMsgSeqs('a:1:5|a:2:6');
    expect(result.ok && [result.value.get(lastMsgSeqKey('a', 1)), result.value.get(lastMsgSeqKey('a', 2))]).toEqual([5, 6]);
  });
});

describe('parseLastMsgSeqs: malformed entries', () => {
  it.each([
    'a',
    'a:1',
    'a:5|b',
    ':1:5',
    ':5',
    'a::5',
    'a:1:',
    'a:0:5',
    'a:256:5',
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
  ])('rejects "%s", naming last_msg_seqs', (text) => {
    const result = parseLastMsgSeqs(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^last_msg_seqs: /);
  });

  it('says which entry is wrong', () => {
    const result = parseLastMsgSeqs('a:1:5|g:2:x');
    expect(!result.ok && result.reason).toMatch(/^last_msg_seqs: entry 2 \("g:2:x"\): seq/);
  });
});
