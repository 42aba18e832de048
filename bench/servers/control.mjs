// Shared by the Node broker scripts: a tiny line protocol on stdin so the
// harness can ask the broker process for a GC or for its stats.
//   harness -> child stdin : {"id":1,"cmd":"gc"|"stats"}\n
//   child -> stdout        : {"id":1,"result":...}\n  (or {"id":1,"error":"..."})
import readline from 'node:readline';

export function serveControl(handlers) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    const h = handlers[msg.cmd];
    try {
      if (!h) throw new Error(`unknown cmd ${msg.cmd}`);
      const result = await h();
      process.stdout.write(JSON.stringify({ id: msg.id, result: result ?? null }) + '\n');
    } catch (err) {
      process.stdout.write(JSON.stringify({ id: msg.id, error: String(err?.stack ?? err) }) + '\n');
    }
  });
  // Do not keep the process alive just because stdin is open.
  process.stdin.unref?.();
}

export function gcNow() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    return true;
  }
  return false;
}

export function onTerminate(fn) {
  let closing = false;
  const handler = async () => {
    if (closing) return;
    closing = true;
    try {
      await fn();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`close failed: ${err?.stack ?? err}\n`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
