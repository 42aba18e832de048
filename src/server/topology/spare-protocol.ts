/** What a spare frontend and its supervisor say over the cluster IPC channel (see spare-main.ts). */

/** The message a spare sends once its modules are loaded. */
export const SPARE_READY = 'ops-spare-ready';
