import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeConnection } from '../../../../src/storage/redis/node-connection.js';
import { DEFAULT_RESP_LIMITS } from '../../../../src/storage/redis/resp.js';

/** A fake Redis node: `onData` sees what the client wrote and may answer anything. */
let server: Server | undefined;
const sockets: Socket[] = [];

async function fakeNode(onData: (socket: Socket, data: Buffer) => void): Promise<number> {
  server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (data) => onData(socket, data));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  server = undefined;
});

const open = (port: number, maxBulkBytes = DEFAULT_RESP_LIMITS.maxBulkBytes): Promise<NodeConnection> =>
  NodeConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: 1000, limits: { ...DEFAULT_RESP_LIMITS, maxBulkBytes } });

/** Counts the commands (`*N` headers at the top level) in what the client wrote: a fake node's view. */
const commandsIn = (data: Buffer): number => data.toString('latin1').split('\r\n').filter((line, i, all) => line.startsWith('*') && (i === 0 || all[i - 1]?.startsWith('$') !== true)).length;

describe('NodeConnection (against a fake node)', () => {
  it('matches the replies of pipelined batches in order, however the bytes are split', async () => {
    const port = await fakeNode((socket, data) => {
      // answer every command with its ordinal, one byte at a time
      const text = Array.from({ length: commandsIn(data) }, () => `:${++answered}\r\n`).join('');
      for (const byte of Buffer.from(text)) socket.write(Buffer.from([byte]));
    });
    let answered = 0;
    const connection = await open(port);
    const [first, second] = await Promise.all([connection.send([['A'], ['B']], 1000), connection.send([['C']], 1000)]);
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([3]);
    connection.close();
  });

  it('a malformed reply fails every pending batch with STO_BACKEND_UNAVAILABLE and drops the connection', async () => {
    const port = await fakeNode((socket) => socket.write('+OK\r\n!garbage\r\n'));
    const connection = await open(port);
    const closed = new Promise((resolve) => connection.onClose(resolve));
    const first = connection.send([['A']], 1000);
    const second = connection.send([['B']], 1000);
    await expect(first).resolves.toHaveLength(1);
    await expect(second).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE', message: expect.stringMatching(/protocol error/) });
    await closed;
    expect(connection.usable).toBe(false);
    await expect(connection.send([['C']], 1000)).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE' });
  });

  it('a bulk string beyond the limit is refused from its header, without waiting for its bytes', async () => {
    const port = await fakeNode((socket) => socket.write('$1000000\r\nabc'));
    const connection = await open(port, 1024);
    await expect(connection.send([['GET', 'k']], 5000)).rejects.toMatchObject({ message: expect.stringMatching(/exceeds the limit/) });
  });

  it('a reply to no command drops the connection', async () => {
    const port = await fakeNode((socket) => socket.write(':1\r\n:2\r\n'));
    const connection = await open(port);
    const closed = new Promise((resolve) => connection.onClose(resolve));
    await connection.send([['A']], 1000).catch(() => undefined);
    await expect(closed).resolves.toMatchObject({ message: expect.stringMatching(/a reply to no command/) });
  });

  it('a batch without its replies in time is rejected and the connection closed (later replies could not be matched)', async () => {
    const port = await fakeNode(() => undefined);
    const connection = await open(port);
    const started = Date.now();
    await expect(connection.send([['A']], 200)).rejects.toMatchObject({ message: expect.stringMatching(/no reply within 200 ms/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(connection.usable).toBe(false);
  });

  it('the node closing the connection rejects the pending batches at once', async () => {
    const port = await fakeNode((socket) => socket.destroy());
    const connection = await open(port);
    const started = Date.now();
    await expect(connection.send([['A']], 10_000)).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('connecting to a closed port fails with STO_BACKEND_UNAVAILABLE', async () => {
    const port = await fakeNode(() => undefined);
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    await expect(open(port)).rejects.toMatchObject({ code: 'STO_BACKEND_UNAVAILABLE' });
  });
});
