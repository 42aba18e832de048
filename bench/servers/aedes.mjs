// aedes 1.x (in-memory persistence, default options), started by bench/run.mjs
// as its own process. Prints {"port":N} on stdout once listening; closes on SIGTERM.
import { Aedes } from 'aedes';
import { serveAedes } from './aedes-serve.mjs';

await serveAedes(await Aedes.createBroker());
