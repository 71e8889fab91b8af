import { ProgressBar } from './progress';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream, writes };
}

describe('ProgressBar', () => {
  it('is silent when stderr is not a terminal and --progress is not given', () => {
    const { stream, writes } = fakeStream(false);
    const bar = ProgressBar.start('produce', 10, false, stream);
    bar.update(5, '5 events');
    bar.finish('10 events');
    expect(writes).toEqual([]);
  });

  it('redraws one line in place on a terminal, and ends it with a newline', () => {
    const { stream, writes } = fakeStream(true);
    const bar = ProgressBar.start('rebuild', 4, false, stream);
    bar.finish('4/4 records');
    expect(writes[0]).toBe(`\rrebuild [${'-'.repeat(30)}]   0% \x1b[K`);
    expect(writes.slice(1)).toEqual([`\rrebuild [${'#'.repeat(30)}] 100% 4/4 records\x1b[K`, '\n']);
  });

  it('writes plain lines, at most one a second, when forced onto a file or pipe', () => {
    const { stream, writes } = fakeStream(false);
    const bar = ProgressBar.start('produce', 200, true, stream);
    bar.update(100, 'half');
    bar.finish('all');
    expect(writes).toEqual([`produce [${'-'.repeat(30)}]   0% \n`, `produce [${'#'.repeat(30)}] 100% all\n`]);
  });

  it('shows 100% for an empty total', () => {
    const { stream, writes } = fakeStream(false);
    ProgressBar.start('rebuild', 0, true, stream).finish('0/0 records');
    expect(writes[1]).toContain('100% 0/0 records');
  });
});
