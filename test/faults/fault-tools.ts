import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withDatabase } from '../support/test-environment';

/** Process-level tools the faults use: PostgreSQL sessions of a process, the local Kafka broker. */

const run = promisify(execFile);
const SERVICES = join(__dirname, '..', '..', 'scripts', 'services.sh');

/**
 * Whether the process `pid` has a PostgreSQL transaction open right now: its
 * sockets to PostgreSQL (by local port) matched with
 * pg_stat_activity's client_port.
 */
export async function hasOpenTransaction(pid: number, databaseUrl: string): Promise<boolean> {
  const ports = localPortsTo(pid, Number(new URL(databaseUrl).port || 5432));
  if (ports.length === 0) return false;
  const { rows } = await withDatabase(databaseUrl, (client) =>
    client.query('SELECT 1 FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND xact_start IS NOT NULL', [ports]),
  );
  return rows.length > 0;
}

/** Local ports of `pid`'s TCP sockets to `remotePort`: its socket inodes (/proc/<pid>/fd) looked up in /proc/net/tcp{,6}. */
function localPortsTo(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10 || !inodes.has(columns[9])) continue;
      const port = (address: string) => parseInt(address.split(':').pop()!, 16);
      if (port(columns[2]) === remotePort) ports.push(port(columns[1]));
    }
  }
  return ports;
}

/** Whether the broker on KAFKA_BROKERS was started by scripts/services.sh: the only one the suite may restart. */
export async function kafkaBrokerIsOurs(): Promise<boolean> {
  const { stdout } = await run('bash', [SERVICES, 'status'], { timeout: 30_000 });
  return stdout.includes('started by this script');
}

/** Stops and starts that broker (services.sh waits until it serves requests again). */
export async function restartKafkaBroker(): Promise<void> {
  await run('bash', [SERVICES, 'restart'], { timeout: 180_000 });
}
