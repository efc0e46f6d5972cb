import type { Socket } from 'node:net';
import type { RedisConnection } from '@relocation/queue';
import { Cluster, Redis } from 'ioredis';

const BATCHED = Symbol('relocation.redisWritesBatched');

type Batchable = Redis & { [BATCHED]?: true };

/**
 * Makes a connection write the commands issued in one turn of the event loop together: the
 * first command of a turn corks the socket and the turn's check phase (`setImmediate`) uncorks
 * it, so the commands of every request handled in that turn reach Redis in one write, and their
 * replies come back in one read, instead of a system call each way per command. Under load a
 * turn handles many requests; alone, a command waits only for the end of its own turn. Order is
 * unchanged (one socket, written in order). A Cluster gets it on every node connection.
 *
 * ioredis's own `enableAutoPipelining` batches per `process.nextTick`, which never spans two
 * requests (each arrives in a turn of its own socket) and costs a pipeline per command; this
 * batches across them at the cost of one `cork()` per turn. Applying it twice does nothing.
 */
export function batchRedisWrites(connection: RedisConnection): void {
  if (connection instanceof Cluster) {
    for (const node of connection.nodes()) batchNode(node);
    connection.on('+node', (node: Redis) => batchNode(node));
    return;
  }
  batchNode(connection);
}

function batchNode(redis: Batchable): void {
  if (!(redis instanceof Redis) || redis[BATCHED]) return;
  redis[BATCHED] = true;
  const send = redis.sendCommand.bind(redis);
  let corked: Socket | null = null;
  const uncork = () => {
    const socket = corked;
    corked = null;
    // A socket replaced by a reconnection meanwhile is uncorked all the same (harmless).
    socket?.uncork();
  };
  redis.sendCommand = (command, stream) => {
    // Only the connection's own writes (a pipeline writes its commands itself, in one go).
    if (corked === null && stream === undefined && redis.status === 'ready') {
      const socket = redis.stream as Socket | undefined;
      if (socket?.writable) {
        socket.cork();
        corked = socket;
        setImmediate(uncork);
      }
    }
    return send(command, stream);
  };
}
