package io.mqttdynamo.store;

import java.util.List;

/** Items of the six tables as the dashboard and the API read them; times in epoch milliseconds. */
public final class Rows {

    private Rows() {
    }

    /** An mqtt_client item. */
    public record Client(String clientId, String node, boolean online, long onlineAt, long offlineAt) {
    }

    /** An mqtt_sub item. */
    public record Subscription(String clientId, String topic, int qos) {
    }

    /**
     * An mqtt_msg or mqtt_retain item. {@code payload} is null when it was too large to store
     * ({@code truncated}: the item's {@code payload_truncated}; {@code payloadSize} still tells its size).
     */
    public record Message(String msgId, String topic, int qos, String sender, boolean retain, long arrived,
            byte[] payload, boolean binary, int payloadSize, boolean truncated) {
    }

    /** An mqtt_acked item. */
    public record Ack(String topic, String clientId, String msgId) {
    }

    /** One page of a listing and the cursor of the next, null on the last page. */
    public record Page<T>(List<T> items, String next) {
    }
}
