/**
 * The HTTP load generator, in a process of its own so that the bench
 * process's garbage collection never shows up as server latency. Receives
 * LoadRequests over IPC, one at a time, and answers each with its LoadResult.
 */
import { LoadRequest, runLoad } from '../lib/http-load';

process.on('message', (request: LoadRequest) => {
  runLoad(request).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.('ready');
