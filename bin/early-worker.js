// A restore's worker thread (src/pipeline/restore-worker/worker.ts), started by bin/lifeboat before
// the CLI's modules load, for the commands that restore: `restore` and `drill`. Its start-up (a V8
// isolate, Node's bootstrap, the stages' modules: ~45 ms on an idle 2-core machine, more beside the
// main thread) then runs on the core that the main thread's own loading leaves idle, instead of
// between the catalog read and the consumer's start (the consumer, tar or pg_restore, can only
// start once the worker has connected the socket that is its stdin). Measured on a 2-core VM,
// alternating runs: tar started ~35 ms sooner in a 1 GiB files restore, pg_restore ~20 ms sooner
// in a database restore; on a VM where every start is several times slower (bench/README.md, the
// twelfth machine) a database restore gained nothing. The restore takes it over (WorkerStart in
// src/pipeline/restore-worker/plaintext.ts, through the global below); unused, it does not keep
// the process alive.
const KEY = Symbol.for('lifeboat.restoreWorker');

/** Starts the worker when `argv` (the CLI's arguments) runs a restore; `cli` is the module bin/lifeboat loads. */
export async function startEarlyWorker(argv, cli) {
  const [command] = argv;
  if (command !== 'restore' && command !== 'drill') return;
  if (argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h')) return;
  const { Worker } = await import('node:worker_threads');
  // The bundle's worker sits beside its cli.js; the sources' beside the pipeline.
  const url = cli.endsWith('.js') ? new URL('../dist/restore-worker.js', import.meta.url) : new URL('../src/pipeline/restore-worker/worker.ts', import.meta.url);
  const worker = new Worker(url);
  worker.unref();
  // A worker that fails to start is not taken: the restore starts one of its own.
  worker.once('error', () => {});
  globalThis[KEY] = worker;
}
