import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseExactJson } from './json';
import { TestEnvironment, freePort } from './test-environment';
import { waitFor } from './wait-for';

const ROOT = join(__dirname, '..', '..');

/** One of the built apps (`npm run build` first) running as a real child process. */
export class AppProcess {
  private output = '';
  private exited: Promise<number | null>;

  private constructor(
    readonly app: 'api' | 'consumer',
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk) => (this.output += chunk));
    child.stderr?.on('data', (chunk) => (this.output += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static spawn(app: 'api' | 'consumer', env: Record<string, string>, port: number): AppProcess {
    const entry = join(ROOT, 'dist', 'apps', app, 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    return AppProcess.launch(app, process.execPath, [entry], env, port);
  }

  /** The app started by another command (an npm script, say), from the repository root; `app` answers on `port`. */
  static launch(app: 'api' | 'consumer', file: string, args: string[], env: Record<string, string>, port: number): AppProcess {
    const portVariable = app === 'api' ? 'API_PORT' : 'CONSUMER_HTTP_PORT';
    const child = spawn(file, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ROOT, ...env, [portVariable]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AppProcess(app, port, child);
  }

  static async start(app: 'api' | 'consumer', env: Record<string, string>): Promise<AppProcess> {
    const process = AppProcess.spawn(app, env, await freePort());
    await process.waitUntilReady();
    return process;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get logs(): string {
    return this.output;
  }

  async waitUntilReady(timeoutMs = 40_000): Promise<void> {
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    await waitFor(
      `${this.app} to be ready`,
      async () => {
        if (exitCode !== undefined) throw new Error(`${this.app} exited with ${exitCode}:\n${this.output}`);
        const response = await fetch(`${this.url}/health/ready`).catch(() => null);
        return response?.status === 200;
      },
      timeoutMs,
    ).catch((error) => {
      throw new Error(`${String(error)}\n--- ${this.app} output ---\n${this.output}`);
    });
  }

  /** SIGTERM, then the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    return this.exited;
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }
}

/** A consumer and an API over one test environment. */
export class RunningService {
  constructor(
    readonly consumer: AppProcess,
    readonly api: AppProcess,
  ) {}

  static async start(env: TestEnvironment, extra: Record<string, string> = {}): Promise<RunningService> {
    const [consumer, api] = await Promise.all([AppProcess.start('consumer', env.appEnv(extra)), AppProcess.start('api', env.appEnv(extra))]);
    return new RunningService(consumer, api);
  }

  async stop(): Promise<void> {
    await Promise.all([this.consumer.stop(), this.api.stop()]);
  }

  /** POST a JSON body (object or raw text) to the API. */
  async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
    const response = await fetch(`${this.api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = parseExactJson(text);
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed, text };
  }

  /** A successful sync's conversations. */
  async sync(request: Record<string, unknown>): Promise<any[]> {
    const { status, body, text } = await this.post('/conversation/sync', request);
    if (status !== 200) throw new Error(`sync answered ${status}: ${text}`);
    return body as any[];
  }
}
