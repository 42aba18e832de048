/**
 * The one registry of ops-broker error codes. Every {@link OpsError} carries one of these codes;
 * docs/error-codes.md (linked from the README) lists exactly these (a test checks both ways).
 *
 * Codes are `AREA_WHAT`: BRK (broker engine), CFG (config), INST (instances), ADM (admin socket),
 * STO (storage), SST (state store), CLI (command line).
 */
export const ERROR_CODES = {
  BRK_LISTEN_FAILED: { exitCode: 3, message: 'The broker could not listen on {address}: {reason}' },
  BRK_CLOSED: { exitCode: 3, message: 'The broker is closed' },
  BRK_MESSAGE_UNENCODABLE: { exitCode: 3, message: 'The message to {topic} cannot be encoded: {reason}' },

  CFG_FILE_NOT_FOUND: { exitCode: 2, message: '{path} does not exist.' },
  CFG_NOT_A_FILE: { exitCode: 2, message: '{path} is not a file.' },
  CFG_DECODE_FAILED: { exitCode: 2, message: 'Failed to decode file {path}.' },
  CFG_PARSE_FAILED: { exitCode: 2, message: '{path} is not valid JSON: {reason} (line {line}, column {column}).' },
  CFG_SCHEMA_INVALID: { exitCode: 2, message: '{source} is not a valid {kind} ({count} problem(s)):\n{problems}' },
  CFG_PERSIST_INVALID: { exitCode: 2, message: '{message}' },
  CFG_PERSIST_NOT_ENABLED: {
    exitCode: 2,
    message:
      "The broker is not enabled for disk persistence which must be configured at create time.\nUse 'az iot ops create' with '--persist-max-size' to enable.",
  },
  CFG_FLAG_INVALID: { exitCode: 2, message: '{message}' },
  CFG_BACKEND_INVALID: { exitCode: 2, message: '{flag} {value} is not a backend address: {reason}. Expected redis://host:port[,host:port...]' },
  CFG_SETTING_LOCKED: {
    exitCode: 5,
    message: "The deployment-time setting(s) '{setting}' are locked at create and can't be changed ({reason}).",
  },
  CFG_RESOURCE_NOT_FOUND: { exitCode: 4, message: "{kind} '{name}' was not found in instance '{instance}'." },

  INST_INVALID_NAME: {
    exitCode: 2,
    message: "Invalid instance name '{name}': use 1-63 lowercase letters, digits or '-', starting with a letter or digit.",
  },
  INST_NOT_FOUND: { exitCode: 4, message: "Instance '{name}' does not exist under {home}. Create it with: ops create --instance {name}" },
  INST_EXISTS: { exitCode: 5, message: "Instance '{name}' already exists under {home}. {hint}" },
  INST_PATH_TOO_LONG: {
    exitCode: 2,
    message: 'The admin socket path {path} has {length} bytes, more than the {limit} a Unix socket path may have. Use a shorter OPS_HOME (or instance name).',
  },
  INST_CORRUPT: { exitCode: 5, message: 'Instance file {path} is unreadable: {reason}' },
  INST_LOCK_TAMPERED: {
    exitCode: 5,
    message:
      'The deployment lock {path} was changed by hand (checksum mismatch): deployment-time settings are fixed at create. Restore the file, or delete and re-create the instance.',
  },
  INST_RUNNING: { exitCode: 5, message: "The broker of instance '{name}' is already running (pid {pid})." },
  INST_NOT_RUNNING: { exitCode: 3, message: "The broker of instance '{name}' is not running. Start it with: ops broker start --instance {name}" },
  INST_START_FAILED: { exitCode: 3, message: "The broker of instance '{name}' exited during start ({reason}). Last lines of {log}:\n{tail}" },
  INST_START_TIMEOUT: {
    exitCode: 3,
    message: "The broker of instance '{name}' did not accept MQTT connections within {seconds}s. Last lines of {log}:\n{tail}",
  },
  INST_STOP_TIMEOUT: { exitCode: 3, message: "The broker of instance '{name}' (pid {pid}) did not stop within {seconds}s." },
  INST_PORT_IN_USE: {
    exitCode: 3,
    message: "Port {port} of listener '{listener}' is in use on {host} (another instance or program holds it). Choose another with {flag} N (0 picks a free one).",
  },
  INST_UNSAFE_PATH: { exitCode: 5, message: 'Refusing the instance path {path}: {reason}' },
  INST_REDIS_MISSING: { exitCode: 2, message: '{program} is not installed (not found on PATH): --backend local runs Redis Cluster nodes on this machine. Install it with: apt-get install redis-server' },
  INST_TOPOLOGY_FAILED: { exitCode: 3, message: 'The local topology could not start: {reason}' },

  ADM_BAD_REQUEST: { exitCode: 3, message: 'Bad admin request: {reason}' },
  ADM_REQUEST_TOO_LARGE: { exitCode: 3, message: 'Admin request larger than {limit} bytes' },
  ADM_UNKNOWN_METHOD: { exitCode: 3, message: "Unknown admin method '{method}'" },
  ADM_VERSION_UNSUPPORTED: { exitCode: 3, message: 'Admin protocol version {version} is not supported (this broker speaks {supported})' },
  ADM_INTERNAL: { exitCode: 1, message: 'The broker failed to handle {method}: {reason}' },
  ADM_UNREACHABLE: { exitCode: 3, message: 'Cannot reach the admin socket {path}: {reason}' },
  ADM_TIMEOUT: { exitCode: 3, message: "Admin call '{method}' timed out after {ms} ms" },
  ADM_REMOTE_ERROR: { exitCode: 3, message: '{message}' },

  STO_QUOTA_EXCEEDED: { exitCode: 3, message: 'The store is full: {used} bytes of persistence.maxSize {limit} bytes in use' },
  STO_OPEN_FAILED: { exitCode: 3, message: 'The store at {path} could not be opened: {reason}' },
  STO_CORRUPT_RECORD: {
    exitCode: 5,
    message: 'The store at {path} holds a corrupt {record} record ({reason}); the broker does not start on damaged data.',
  },
  STO_LOG_DAMAGED: {
    exitCode: 5,
    message:
      'The store at {path} has a damaged write-ahead log: {damage}; {lost}. The broker does not start on it: `ops broker start --repair` starts with what survived and reports what was lost.',
  },
  STO_WRONG_KEY: { exitCode: 5, message: 'The store at {path} cannot be read with the encryption key given: {reason}' },
  STO_READ_FAILED: { exitCode: 3, message: 'Reading the store at {path} failed: {reason}' },
  STO_WRITE_FAILED: { exitCode: 3, message: 'A write to the store at {path} failed: {reason}' },
  STO_BACKEND_UNAVAILABLE: { exitCode: 3, message: 'The Redis backend node {node} is unavailable: {reason}' },
  STO_BACKEND_NOT_ACKNOWLEDGED: { exitCode: 3, message: 'The Redis backend did not acknowledge the write on {node}: {reason}' },

  SST_CONNECT_FAILED: { exitCode: 3, message: 'Cannot connect to the MQTT broker at {address}: {reason}' },
  SST_CONNECTION_LOST: { exitCode: 3, message: 'The connection to the MQTT broker at {address} was lost: {reason}' },
  SST_TIMEOUT: { exitCode: 3, message: 'The state store at {address} did not answer {command} within {ms} ms' },
  SST_REQUEST_FAILED: { exitCode: 3, message: 'The state store refused {command}: {message}' },
  SST_SUBSCRIBE_REFUSED: {
    exitCode: 3,
    message: "The broker at {address} refused this client's subscription to {topic} ({reason}): the port's authorization must let it subscribe there to read the state store's replies",
  },
  SST_BAD_REPLY: { exitCode: 3, message: 'The state store at {address} sent a reply this client cannot read: {reason}' },

  CLI_USAGE: { exitCode: 2, message: '{message}' },
  CLI_CANCELLED: { exitCode: 130, message: 'Cancelled.' },
  CLI_INTERNAL: { exitCode: 1, message: 'Unexpected error: {reason}. Please file an issue with the command you ran.' },
} as const satisfies Record<string, { readonly exitCode: number; readonly message: string }>;

/** A registered error code. */
export type ErrorCode = keyof typeof ERROR_CODES;
