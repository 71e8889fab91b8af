/**
 * Where the full sync's gap to bare Fastify goes: the same answer-sized bytes served by stacks one
 * layer apart (bench/probes/http-stack-server.ts: bare, exact, observed, validated, nest), each
 * loaded back to back by the bench's load generator (its own process, 32 connections), rounds
 * interleaved; each mode's rate is taken against the first mode's in the same round, then the
 * median over rounds, so the machine's drift between rounds cancels.
 *
 *   node -r ./bench/ts-register.js -r tsconfig-paths/register bench/probes/http-stack-probe.ts [rounds=5] [seconds=4] [modes=bare,exact,observed,validated,nest]
 *
 * LOG_LEVEL (default warn, as the bench runs the apps) reaches the servers; SERVER_NODE_OPTIONS are
 * added to their node flags (with BENCH_CPU_PROF_DIR, `--require bench/children/cpu-profile-preload.js`
 * profiles each server).
 */
import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/test-environment';
import { percentiles } from '../lib/consumer-metrics';
import { LoadGenerator } from '../lib/http-load';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const seconds = Number(process.argv[3] ?? 4);
  const modes = (process.argv[4] ?? 'bare,exact,observed,validated,nest').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'http-stack-'));
  const answerFile = join(dir, 'answer.json');
  writeFileSync(answerFile, JSON.stringify(fakeAnswer(200)));
  const children: ChildProcess[] = [];
  const servers = new Map<string, { url: string; pid: number | undefined }>();
  for (const mode of modes) servers.set(mode, await startServer(mode, answerFile, children));
  const generator = await LoadGenerator.start(children);
  const body = JSON.stringify({ uid: 'bench-user', msg_count: 1 });
  const rps = new Map<string, number[]>(modes.map((m) => [m, []]));
  const cpu = new Map<string, number[]>(modes.map((m) => [m, []]));
  try {
    for (const { url } of servers.values()) await generator.run('warm-up', url, body, { connections: 32, seconds: 3 });
    for (let round = 0; round < rounds; round++) {
      for (const [mode, { url, pid }] of servers) {
        const result = await generator.run(`${mode} round ${round + 1}`, url, body, { connections: 32, seconds, serverPid: pid });
        rps.get(mode)!.push(result.rps);
        cpu.get(mode)!.push(result.serverCpuMsPerRequest ?? NaN);
      }
    }
  } finally {
    generator.stop();
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  // Each round's ratio to the first mode measured in the same round, then the median over rounds: drift between rounds cancels.
  const first = rps.get(modes[0])!;
  for (const mode of modes) {
    const ratios = rps.get(mode)!.map((r, i) => r / first[i]);
    console.log(
      `${mode.padEnd(14)} ${Math.round(median(rps.get(mode)!))} req/s, ${median(ratios).toFixed(3)}× ${modes[0]} (rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}), ` +
        `server CPU ${median(cpu.get(mode)!).toFixed(3)} ms/request`,
    );
  }
}

async function startServer(mode: string, answerFile: string, children: ChildProcess[]): Promise<{ url: string; pid: number | undefined }> {
  const port = await freePort();
  const child = fork(join(__dirname, 'http-stack-server.ts'), [String(port), mode, answerFile], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: ['-r', join(__dirname, '..', 'ts-register.js'), ...(process.env.SERVER_NODE_OPTIONS ?? '').split(' ').filter(Boolean)],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/conversation/sync`, pid: child.pid };
}

/** About the size of the bench's full answer (117 KB): 200 person conversations, one recent message each. */
function fakeAnswer(conversations: number): unknown[] {
  return Array.from({ length: conversations }, (_, i) => ({
    channel_id: `bench-peer-${i}`, channel_type: 1, unread: 1, timestamp: 1764000000 + i, last_msg_seq: 3, last_client_msg_no: `c-${i}-3`, offset_msg_seq: 0,
    readed_to_msg_seq: 2, version: 1795641817742084000 + i * 1024, recents: [{ header: { no_persist: 0, red_dot: 1, sync_once: 0 }, setting: 0, message_id: 1795641817742084857 + i, message_idstr: String(1795641817742084857n + BigInt(i)),
      client_msg_no: `c-${i}-3`, message_seq: 3, from_uid: `bench-peer-${i}`, channel_id: `bench-peer-${i}`, channel_type: 1, timestamp: 1764000000 + i,
      payload: Buffer.from(JSON.stringify({ type: 1, content: 'x'.repeat(40) })).toString('base64') }],
  }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

function median(values: number[]): number {
  return percentiles(values)?.p50 ?? NaN;
}
