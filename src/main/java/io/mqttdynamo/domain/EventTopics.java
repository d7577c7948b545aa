package io.mqttdynamo.domain;

/**
 * The topics on which broker rules (and the embedded broker) publish message and ack envelopes. The
 * service never stores what arrives on them as messages.
 */
public final class EventTopics {

    public static final String PREFIX = "mqtt-dynamo/events/";
    /** Envelopes of published messages. */
    public static final String MESSAGE_PUBLISH = PREFIX + "message_publish";
    /** Envelopes of acknowledged messages. */
    public static final String MESSAGE_ACKED = PREFIX + "message_acked";
    /** All of them, as a filter. */
    public static final String ALL = PREFIX + "#";
    /** Where each replica publishes its dashboard snapshot ({@code mqtt-dynamo/cluster/<replica>}); never stored. */
    public static final String CLUSTER_PREFIX = "mqtt-dynamo/cluster/";
    /** All replicas' snapshots, as a filter. */
    public static final String CLUSTER_ALL = CLUSTER_PREFIX + "+";

    private EventTopics() {}
}
