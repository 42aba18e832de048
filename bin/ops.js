#!/usr/bin/env node
// The `ops` CLI; built from src/cli by `npm run build`.
import { main } from '../dist/cli/run.js';

process.exitCode = await main();
