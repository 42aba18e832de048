#!/usr/bin/env node
// The broker process of one instance (spawned by `ops create` / `ops broker start|run`).
import { main } from '../dist/server/main.js';

// Exit explicitly once stopped: the engine may keep timers that would hold the process open.
process.exit(await main());
