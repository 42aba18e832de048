/**
 * The packet model: one set of types for MQTT 3.1.1 and 5.0, v5 properties optional. It is
 * mqtt-packet's model, re-exported so only src/protocol depends on the codec library.
 */
export type {
  Packet,
  QoS,
  UserProperties,
  IConnectPacket as ConnectPacket,
  IConnackPacket as ConnackPacket,
  IPublishPacket as PublishPacket,
  IPubackPacket as PubackPacket,
  IPubrecPacket as PubrecPacket,
  IPubrelPacket as PubrelPacket,
  IPubcompPacket as PubcompPacket,
  ISubscribePacket as SubscribePacket,
  ISubackPacket as SubackPacket,
  ISubscription as SubscriptionRequest,
  IUnsubscribePacket as UnsubscribePacket,
  IUnsubackPacket as UnsubackPacket,
  IPingreqPacket as PingreqPacket,
  IDisconnectPacket as DisconnectPacket,
  IAuthPacket as AuthPacket,
} from 'mqtt-packet';

/** Protocol levels the broker speaks: 4 = MQTT 3.1.1, 5 = MQTT 5.0. */
export type ProtocolVersion = 4 | 5;
