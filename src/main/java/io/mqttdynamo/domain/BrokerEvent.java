package io.mqttdynamo.domain;

/**
 * What a broker reported, decoded from any dialect: the input of the hook functions.
 * Times are epoch milliseconds as the broker stated them.
 */
public sealed interface BrokerEvent {

    /** The client the event is about (the publisher for a message). */
    String clientId();

    /** A client connected to {@code node}. */
    record ClientConnected(String clientId, String node, String username, long atMillis) implements BrokerEvent {
    }

    /** A client left {@code node}. */
    record ClientDisconnected(String clientId, String node, String reason, long atMillis) implements BrokerEvent {
    }

    /** A client subscribed to a filter. */
    record ClientSubscribed(String clientId, String topic, int qos, long atMillis) implements BrokerEvent {
    }

    /** A client unsubscribed from a filter. */
    record ClientUnsubscribed(String clientId, String topic, long atMillis) implements BrokerEvent {
    }

    /**
     * A message was published. {@code sender} is empty when the source cannot tell (raw subscriptions).
     */
    record MessagePublished(String msgId, String topic, int qos, boolean retain, String sender, byte[] payload,
            long arrivedMillis) implements BrokerEvent {
        @Override
        public String clientId() {
            return sender;
        }
    }

    /** Subscriber {@code clientId} acknowledged message {@code msgId} of {@code topic}. */
    record MessageAcked(String msgId, String topic, String clientId, String fromClientId, int qos, long atMillis)
            implements BrokerEvent {
    }
}
