#!/usr/bin/env node
// The `ops` CLI; built from src/cli by `npm run build`.
import { main } from '../dist/cli/run.js';

process.exitCode = await main();
// Every command is done once main resolves: a handle something forgot to close (a socket, a timer)
// must not keep the process alive. Output to files, pipes and terminals is synchronous on Linux.
setTimeout(() => process.exit(), 1000).unref();
