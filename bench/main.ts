/**
 * `npm run bench [-- --quick] [-- --profile] [-- --ingest-only] [-- --messages=N] [-- --only <phase>]`:
 * the performance benchmark. Each phase (bench/phases) brings or shares an
 * isolated world (TestEnvironment: topic, database, Redis db), runs the real
 * consumer and API (built dist) as child processes and measures its figures
 * next to their baselines in the same run; the targets (bench/targets.ts)
 * turn the typed results into the printed table. Writes
 * bench/results/<date>-<commit>[-quick].json, and a full run also latest.json. Not a test: it exits 0 when
 * targets are missed (non-zero only when it could not run).
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './lib/progress';
import { Figure, gitInfo, machineInfo, printTable } from './lib/report';
import { round } from './lib/figures';
import { summarize } from './profile-summary';
import { OwnPhase, PHASES, Phase, PhaseResults, ResultKey } from './phases';
import { Options, Settings, parseOptions } from './settings';
import { figuresOf } from './targets';
import { SharedWorld } from './world';

const ROOT = join(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');
const TMP = join(RESULTS, 'tmp');

/** bench/results/*.json: each phase's result under its key (PhaseResults), and the table's rows. */
export interface BenchResults extends Partial<PhaseResults> {
  bench: 'conversation-sync';
  /** quick | full, or `<phase>-only` for --only */
  mode: string;
  date: string;
  git: ReturnType<typeof gitInfo>;
  machine: Record<string, unknown>;
  settings: Settings;
  environment?: { topic: string; database: string; redisDb: number; partitions: number };
  probe?: 'ingest-only';
  figures?: Figure[];
  durationSeconds?: number;
  postgresRestartedDuringRun?: boolean;
  error?: string;
  profiles?: Record<string, string>;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  mkdirSync(TMP, { recursive: true });
  return options.only === null ? runAll(options) : runAlone(options.only, options.settings);
}

/** Every phase of the mode, in order; the shared world is stopped and deleted at the end, also on a crash or Ctrl-C. */
async function runAll({ settings, profile, ingestOnly }: Options): Promise<number> {
  const results = header(settings, settings.mode);
  const runStarted = Date.parse(results.date);
  const profileDir = join(TMP, `profiles-${results.date.replace(/[:.]/g, '-')}`);
  const extraEnv: Record<string, string> = profile
    ? { NODE_OPTIONS: `--require ${join(__dirname, 'children', 'cpu-profile-preload.js')}`, BENCH_CPU_PROF_DIR: profileDir }
    : {};
  const world = new SharedWorld(settings, TMP, extraEnv);
  stopWorldOnExit(world);
  try {
    await world.setUp();
    results.environment = { topic: world.env.topic, database: world.env.databaseName, redisDb: world.env.redisDb, partitions: world.partitions };
    for (const phase of PHASES.filter((p) => p.inRuns.includes(settings.mode))) {
      setResult(results, phase.result, phase.world === 'shared' ? await phase.run(world) : await phase.run(settings));
      if (ingestOnly && phase.result === 'ingest') {
        results.probe = 'ingest-only';
        return 0;
      }
    }
    results.figures = figuresOf(results);
    results.durationSeconds = round((Date.now() - runStarted) / 1000, 1);
    results.postgresRestartedDuringRun = await world.postgresRestarted();
    if (results.postgresRestartedDuringRun) log('warning: PostgreSQL was restarted during the run (by something else): figures may be off');
    results.machine.loadAverageAtEnd = machineInfo().loadAverage;
    printReport(results);
    return 0;
  } catch (error) {
    results.error = error instanceof Error ? error.stack ?? error.message : String(error);
    log(`\nbench failed: ${results.error}`);
    if (await world.postgresRestarted()) {
      results.postgresRestartedDuringRun = true;
      log('PostgreSQL was restarted during the run (by something else)');
    }
    log(world.appLogs());
    return 1;
  } finally {
    await world.cleanUp();
    if (profile) results.profiles = summarizeProfiles(profileDir);
    writeResults(results);
  }
}

/** `--only <phase>`: a phase with a world of its own, saved beside the full runs as `<date>-<commit>-<phase>.json` (never as latest.json). */
async function runAlone(name: string, settings: Settings): Promise<number> {
  const own = PHASES.filter((p): p is Phase & OwnPhase<ResultKey> => p.world === 'own');
  const phase = own.find((p) => p.name === name);
  if (!phase) throw new Error(`--only ${name}: the phases that run alone are: ${own.map((p) => p.name).join(', ')}`);
  const results = header(settings, `${phase.name}-only`);
  log(`bench (${phase.name} only, ${settings.mode} sizes)`);
  setResult(results, phase.result, await phase.run(settings));
  results.figures = figuresOf(results);
  results.machine.loadAverageAtEnd = machineInfo().loadAverage;
  const file = join(RESULTS, `${results.date.slice(0, 10)}-${results.git.short}-${phase.name}.json`);
  writeFileSync(file, toJson(results));
  process.stdout.write(`\n${printTable(results.figures)}\n\nresults: ${file}\n`);
  return 0;
}

function header(settings: Settings, mode: string): BenchResults {
  return { bench: 'conversation-sync', mode, date: new Date().toISOString(), git: gitInfo(), machine: machineInfo(), settings };
}

function setResult<K extends ResultKey>(results: BenchResults, key: K, value: PhaseResults[K]): void {
  results[key] = value as BenchResults[K];
}

function stopWorldOnExit(world: SharedWorld): void {
  process.on('uncaughtException', (error) => {
    log(`\nbench crashed: ${error.stack ?? String(error)}`);
    void world.cleanUp().finally(() => process.exit(1));
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`\n${signal}: stopping everything the bench started…`);
      void world.cleanUp().finally(() => process.exit(130));
    });
  }
}

function printReport(results: BenchResults): void {
  const figures = results.figures ?? [];
  process.stdout.write(
    `\nconversation-sync bench (${results.mode}) — ${results.date}, ${results.git.short}${results.git.dirty ? '+dirty' : ''}, ` +
      `${results.machine.nproc} cores, node ${process.version}, ${results.durationSeconds} s\n\n${printTable(figures)}\n`,
  );
  const passed = figures.filter((f) => f.pass === true).length;
  const judged = figures.filter((f) => f.pass !== null).length;
  process.stdout.write(`\n${passed}/${judged} targets met.\n`);
  if (results.postgresRestartedDuringRun) process.stdout.write('Note: PostgreSQL was restarted during the run (by something else on the machine): figures may be off.\n');
}

function toJson(results: BenchResults): string {
  return `${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

function writeResults(results: BenchResults): void {
  mkdirSync(RESULTS, { recursive: true });
  const text = toJson(results);
  if (results.error || results.probe) {
    // A run that did not finish, or a probe of one phase, keeps latest.json as it was.
    const partial = join(TMP, `${results.probe ?? 'failed'}-${String(results.date).replace(/[:.]/g, '-')}.json`);
    writeFileSync(partial, text);
    log(`\n${results.probe ? 'probe' : 'incomplete'} results: ${partial}`);
    return;
  }
  const dated = join(RESULTS, `${results.date.slice(0, 10)}-${results.git.short}${results.mode === 'quick' ? '-quick' : ''}.json`);
  writeFileSync(dated, text);
  if (results.mode === 'quick') {
    // A quick run leaves out the phases with worlds of their own: it never replaces a full run there.
    log(`\nresults: ${dated} (latest.json keeps the last full run)`);
    return;
  }
  const latest = join(RESULTS, 'latest.json');
  copyFileSync(dated, latest);
  log(`\nresults: ${latest}\n         ${dated}`);
}

function summarizeProfiles(directory: string): Record<string, string> {
  const summaries: Record<string, string> = {};
  let files: string[] = [];
  try {
    files = readdirSync(directory).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    log(`no profiles in ${directory}`);
  }
  for (const file of files) {
    try {
      const text = summarize(JSON.parse(readFileSync(join(directory, file), 'utf8')), 30);
      writeFileSync(join(directory, `${file}.txt`), `${text}\n`);
      summaries[file] = join(directory, file);
      log(`\n=== profile ${file} ===\n${text}`);
    } catch (error) {
      log(`profile ${file}: ${String(error)}`);
    }
  }
  return summaries;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`bench crashed: ${String(error)}`);
    process.exit(1);
  },
);
