/** Who a connected client is, as authentication established it. */
export interface ClientIdentity {
  readonly clientId: string;
  readonly username: string | undefined;
  /** Attributes for authorization (from certificates, tokens, custom auth). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** What a CONNECT presents for authentication. */
export interface AuthenticationRequest {
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: Buffer | undefined;
  readonly protocolVersion: 4 | 5;
  readonly authenticationMethod: string | undefined;
  readonly authenticationData: Buffer | undefined;
}

/** An authentication decision: a v5 CONNACK reason code (0 = allowed) and attributes. */
export interface AuthenticationResult {
  readonly reasonCode: number;
  readonly attributes?: Readonly<Record<string, string>>;
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
