/** User-facing strings of the CLI (errors' texts live in shared/error-codes.ts). */
import type { ErrorCode } from '../shared/error-codes.js';

/** What to do next, per error code, printed under the error. */
export const HINTS: Partial<Record<ErrorCode, string>> = {
  CFG_SCHEMA_INVALID: 'Fix the listed fields and run the command again; the schemas are in the package schemas/ folder.',
  CFG_PARSE_FAILED: 'Fix the JSON syntax at that line and column.',
  CFG_PERSIST_NOT_ENABLED: "Locally: persistence is chosen at create time, e.g. 'ops create --instance NAME --persist-max-size 10Gi' (a new instance).",
  CFG_SETTING_LOCKED: "Deployment-time settings can only change by deleting and re-creating the instance ('ops delete', then 'ops create').",
  INST_NOT_FOUND: "List instances with 'ops broker list --all' or create one with 'ops create'.",
  INST_EXISTS: "Use another --instance name, or 'ops delete --instance NAME' first.",
  INST_LOCK_TAMPERED: "Restore deployment.json, or 'ops delete' and 'ops create' the instance again.",
  INST_START_FAILED: "Check the log above; 'ops broker run' shows the broker's output in the foreground.",
  INST_START_TIMEOUT: "Check the broker log; try 'ops broker run' to see it in the foreground.",
  ADM_UNREACHABLE: "Is the broker running? Check with 'ops broker status'.",
  SST_CONNECT_FAILED: "Is the broker running and listening there? 'ops broker status' shows its ports; pass -n HOST / -p PORT (the port defaults to the --instance broker's default listener, else 1883).",
  SST_TIMEOUT: "The broker answered MQTT but not the state store request; check 'ops broker status' and the broker log.",
  SST_REQUEST_FAILED: "The text after 'refused' is the state store's own error (e.g. a fenced key needs a fencing token).",
  BRK_LISTEN_FAILED: 'Choose a free port (--port, or the listener config) or stop whatever uses it.',
};

/** Plain messages. */
export const MSG = {
  deletionCancelled: 'Deletion cancelled.',
  cancelled: 'Cancelled.',
  defaultListenerLoss: (action: 'delete' | 'change', ports: string) =>
    action === 'delete'
      ? `Deleting listener 'default' disconnects every client on its port(s) ${ports}, and none can connect there again until a listener serves the port.`
      : `Changing listener 'default' disconnects the clients on its port(s) ${ports} whose port changes (TLS, authentication, protocol) or is removed.`,
  confirmDelete: (name: string) => `Delete instance '${name}' and all its data? Continue?`,
  confirmDeleteResource: (kind: string, name: string) => `Delete ${kind} '${name}'? Continue?`,
  starting: (name: string) => `Starting the broker of instance '${name}'...`,
  stopping: (name: string) => `Stopping the broker of instance '${name}'...`,
  created: (name: string, pid: number) => `Instance '${name}' created; broker running (pid ${pid}).`,
  started: (name: string, pid: number) => `Broker of instance '${name}' running (pid ${pid}).`,
  storeRepaired: (lost: string, acknowledged: number, surviving: number) =>
    `Store repaired: its write-ahead log was damaged; lost ${lost} (last batch acknowledged ${acknowledged}, the store now ends at batch ${surviving}).`,
  alreadyRunning: (name: string, pid: number) => `Broker of instance '${name}' is already running (pid ${pid}).`,
  metricsOff: (reason: string) =>
    `metrics off: ${reason}. Give each instance its own port at create: 'ops create --metrics-port N' (0 picks a free one).`,
  stopped: (name: string) => `Broker of instance '${name}' stopped.`,
  notRunning: (name: string) => `Broker of instance '${name}' is not running.`,
  deleted: (name: string) => `Instance '${name}' deleted.`,
  listening: (url: string, listener: string) => `  listening on ${url} (listener ${listener})`,
  tlsHint: (ca: string, instance: string, audience: string) =>
    `  TLS CA: ${ca}\n  listener default takes service account tokens: username K8S-SAT, password from 'ops broker token create --instance ${instance} --audience ${audience}'`,
  offlineApplied: 'The broker is not running: the change is stored and takes effect at the next start.',
  offlineClusterShared:
    "This instance is a cluster frontend: at its next start the cluster's authentications, authorizations, persistence, log level and limits replace its stored ones. Make this change through a running frontend to apply it cluster-wide.",
  notServed: (listener: string, port: number, reason: string) => `  not served: ${listener} port ${port} (${reason})`,
} as const;
