package io.mqttdynamo.domain;

/**
 * What a broker reported, decoded from any dialect: the input of the hook functions.
 * Times are epoch milliseconds as the broker stated them.
 */
public sealed interface BrokerEvent {

    /** The client the event is about (the publisher for a message). */
    String clientId();

    /** The version of an event whose broker numbers none (every dialect but AWS IoT). */
    long NO_VERSION = -1;

    /**
     * A client connected to {@code node}. {@code version} is the broker's number of the connection when it
     * gives one (AWS IoT's {@code versionNumber}, the same for a connection's connect and disconnect), else
     * {@link #NO_VERSION}.
     */
    record ClientConnected(String clientId, String node, String username, long atMillis, long version)
            implements BrokerEvent {
        public ClientConnected(String clientId, String node, String username, long atMillis) {
            this(clientId, node, username, atMillis, NO_VERSION);
        }
    }

    /** A client left {@code node}; {@code version} as for {@link ClientConnected}. */
    record ClientDisconnected(String clientId, String node, String reason, long atMillis, long version)
            implements BrokerEvent {
        public ClientDisconnected(String clientId, String node, String reason, long atMillis) {
            this(clientId, node, reason, atMillis, NO_VERSION);
        }
    }

    /**
     * A client subscribed to a filter; {@code isNew} is false when its session held the filter already (EMQX 5's
     * {@code subopts.is_new}, e.g. a subscription restored through its API that the client had made itself).
     */
    record ClientSubscribed(String clientId, String topic, int qos, long atMillis, boolean isNew)
            implements BrokerEvent {
        /** A subscription the broker does not say is renewed. */
        public ClientSubscribed(String clientId, String topic, int qos, long atMillis) {
            this(clientId, topic, qos, atMillis, true);
        }
    }

    /** A client unsubscribed from a filter. */
    record ClientUnsubscribed(String clientId, String topic, long atMillis) implements BrokerEvent {}

    /**
     * A message was published. {@code sender} is empty when the source cannot tell (raw subscriptions).
     */
    record MessagePublished(
            String msgId, String topic, int qos, boolean retain, String sender, byte[] payload, long arrivedMillis)
            implements BrokerEvent {
        @Override
        public String clientId() {
            return sender;
        }
    }

    /**
     * Subscriber {@code clientId} acknowledged message {@code msgId} of {@code topic}. {@code republishedOf}:
     * when the message was the service's copy of a stored one and the broker passed its mark on, the stored
     * message's msgid; else empty.
     */
    record MessageAcked(
            String msgId,
            String topic,
            String clientId,
            String fromClientId,
            int qos,
            long atMillis,
            String republishedOf)
            implements BrokerEvent {
        public MessageAcked(String msgId, String topic, String clientId, String fromClientId, int qos, long atMillis) {
            this(msgId, topic, clientId, fromClientId, qos, atMillis, "");
        }

        /** The same acknowledgement of another message. */
        public MessageAcked withMsgId(String other) {
            return new MessageAcked(other, topic, clientId, fromClientId, qos, atMillis, "");
        }
    }
}
