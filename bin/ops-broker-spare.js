#!/usr/bin/env node
// A spare frontend of a local topology (forked by its supervisor; runs a member once assigned one).
import { spareMain } from '../dist/server/topology/spare-main.js';

process.exit(await spareMain());
