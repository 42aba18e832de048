/** Who a connected client is, as authentication established it. */
export interface ClientIdentity {
  readonly clientId: string;
  readonly username: string | undefined;
  /** Attributes for authorization (from certificates, tokens, custom auth). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** What a CONNECT presents for authentication. */
export interface AuthenticationRequest {
  /** Facts of the connection (listener, port, client certificate) given to `attach`. */
  readonly connection: ConnectionInfo;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly protocolVersion: 4 | 5;
  readonly authenticationMethod: string | undefined;
  readonly authenticationData: Buffer | undefined;
}

/** Facts about a network connection, given to `Broker.attach` by whoever accepted it. */
export interface ConnectionInfo {
  /** Listener name and port the client came in on (AIO: a port names its authn and authz). */
  readonly listener?: string;
  readonly port?: number;
  /** The verified TLS client certificate's subject fields (X.509 authentication), if any. */
  readonly clientCertificate?: { readonly subject: Readonly<Record<string, string>>; readonly raw: Buffer };
  readonly remoteAddress?: string;
}

/** An authentication decision: a v5 CONNACK reason code (0 = allowed) and attributes. */
export interface AuthenticationResult {
  readonly reasonCode: number;
  readonly attributes?: Readonly<Record<string, string>>;
  /** Username for authorization (X.509: the certificate's CN); default the CONNECT's. */
  readonly username?: string;
  readonly reasonString?: string;
}

/**
 * Decision points the security layer fills. Every hook is optional; without hooks every
 * client is allowed (AIO's insecure listener).
 */
export interface BrokerHooks {
  /** Decides a CONNECT; may be asynchronous (packets that follow wait). */
  authenticate?(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
  /** Whether the client may publish to the topic. */
  authorizePublish?(client: ClientIdentity, topic: string): boolean;
  /** Whether the client may subscribe to the filter (`$share/...` included). */
  authorizeSubscribe?(client: ClientIdentity, filter: string): boolean;
}
