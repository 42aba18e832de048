/** Who a connected client is, as authentication established it. */
export interface ClientIdentity {
  readonly clientId: string;
  readonly username: string | undefined;
  /** Attributes for authorization (from certificates, tokens, custom auth). */
  readonly attributes: Readonly<Record<string, string>>;
}

/**
 * Cluster mode: who published a message forwarded by another frontend, as that frontend knew it:
 * the client's identity and the authorization resource of the port it connected through. A service
 * on this frontend (the state store leader) decides for a remote requester with it exactly as for
 * a client connected here.
 */
export interface RemoteSender {
  readonly identity: ClientIdentity;
  /** The port's `authorizationRef`; undefined when the port authorizes everything (no authorization). */
  readonly authorization: string | undefined;
}

/** The decisions of one authorization resource (security's compiled rules), as services ask them. */
export interface SenderAuthorizer {
  canPublish(identity: ClientIdentity, topic: string): boolean;
  canSubscribe(identity: ClientIdentity, filter: string): boolean;
  canUseKey(identity: ClientIdentity, key: Buffer, method: 'Read' | 'Write'): boolean;
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
  /**
   * The TLS client certificate the client presented, if any (TLS ports only). Not verified by the
   * TLS layer (clients without certificates must reach other methods): the X509 method verifies it.
   * `raw`: DER of the client's certificate; `chain`: DER of the presented chain as TLS linked it,
   * the client's certificate first, then the issuers it sent; `subject`: the client's certificate's
   * subject fields (first value of each).
   */
  readonly clientCertificate?: { readonly subject: Readonly<Record<string, string>>; readonly raw: Buffer; readonly chain: readonly Buffer[] };
  readonly remoteAddress?: string;
}

/** An authentication decision: a v5 CONNACK reason code (0 = allowed) and attributes. */
export interface AuthenticationResult {
  readonly reasonCode: number;
  readonly attributes?: Readonly<Record<string, string>>;
  /** Username for authorization (X.509: the certificate's CN); default the CONNECT's. */
  readonly username?: string;
  /**
   * The authenticated identity the client's session is bound to, unique across methods (e.g.
   * `PasswordFile:alice`, `X509:CN=dev1, O=Contoso`, `ServiceAccountToken:sensor-1`): a session is
   * resumed, taken over or discarded only by a CONNECT of the same principal (see
   * `session-owner.ts`). Default: from the username (`user:NAME`), or the port's anonymous identity.
   */
  readonly principal?: string;
  readonly reasonString?: string;
  /**
   * When the credentials expire (ms since the epoch; SAT: the token's `exp`): the engine
   * disconnects the client then, unless a re-authentication moved it.
   */
  readonly expiresAt?: number;
  /** Authentication Data for the successful CONNACK or AUTH (enhanced methods that answer the client). */
  readonly authenticationData?: Buffer;
}

/**
 * Decision points the security layer fills. Every hook is optional; without hooks every
 * client is allowed (AIO's insecure listener).
 */
export interface BrokerHooks {
  /** Decides a CONNECT; may be asynchronous (packets that follow wait). */
  authenticate?(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
  /**
   * Decides a re-authentication: an AUTH 0x19 of a connected v5 client with the CONNECT's
   * Authentication Method [MQTT-4.12.1-1]. The request carries the connection's client id and
   * username, no password, and the AUTH's Authentication Data. Success replaces the identity's
   * username and attributes (when given) and the credential expiry; failure disconnects. Without
   * this hook every re-authentication fails.
   */
  reauthenticate?(request: AuthenticationRequest): AuthenticationResult | Promise<AuthenticationResult>;
  /** Whether the client may publish to the topic. */
  authorizePublish?(client: ClientIdentity, topic: string): boolean;
  /** Whether the client may subscribe to the filter (`$share/...` included). */
  authorizeSubscribe?(client: ClientIdentity, filter: string): boolean;
}
