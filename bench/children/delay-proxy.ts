/**
 * A user-space TCP delay proxy (this kernel has no netem): listens on
 * <listenPort>, forwards each connection to <targetHost:targetPort>, and holds
 * every chunk <delayMs> before passing it on, each way — so a round trip costs
 * 2 × delayMs more, as to a store on another host. Order is kept per
 * direction; a slow reader pauses its writer. Sends 'ready' over IPC once listening.
 *
 *   node -r ./bench/ts-register.js bench/children/delay-proxy.ts <listenPort> <targetHost:targetPort> <delayMs>
 */
import { Socket, connect, createServer } from 'node:net';

const [listenPort, target, delayArg] = process.argv.slice(2);
const [targetHost, targetPort] = target.split(':');
const delayMs = Number(delayArg);

const server = createServer((client) => {
  const upstream = connect({ host: targetHost, port: Number(targetPort) });
  for (const socket of [client, upstream]) socket.setNoDelay(true);
  delayedPipe(client, upstream);
  delayedPipe(upstream, client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', () => upstream.end());
  upstream.on('close', () => client.end());
});

server.listen(Number(listenPort), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));

/** Writes what `from` sends to `to`, each chunk `delayMs` after it arrived. */
function delayedPipe(from: Socket, to: Socket): void {
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let ended = false;
  const flush = () => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) {
      if (!to.write(queue.shift()!.chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    }
    if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now);
    else if (ended) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    timer ??= setTimeout(flush, delayMs);
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0 && timer === null) to.end();
  });
}
