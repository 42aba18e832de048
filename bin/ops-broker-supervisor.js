#!/usr/bin/env node
// The supervisor of a local topology (spawned by `ops create --backend local` / `ops broker start|run`).
import { supervisorMain } from '../dist/server/topology/supervisor-main.js';

process.exit(await supervisorMain());
