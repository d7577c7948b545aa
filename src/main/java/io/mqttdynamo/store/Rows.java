package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.num;
import static io.mqttdynamo.store.Attributes.str;

import java.util.List;
import java.util.Map;

import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.mqttdynamo.store.Tables.Attr;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Items of the six tables as the rest of the service reads them, each mapped from its item beside its record;
 * times in epoch milliseconds.
 */
public final class Rows {

    private Rows() {}

    /** An mqtt_client item. */
    public record Client(String clientId, String node, boolean online, long onlineAt, long offlineAt) {

        static Client from(Map<String, AttributeValue> item, TimeUnitSetting unit) {
            return new Client(
                    str(item, Attr.CLIENTID),
                    str(item, Attr.NODE),
                    "1".equals(Attributes.n(item, Attr.CONNECT_STATE)),
                    millis(item, Attr.ONLINE_AT, unit),
                    millis(item, Attr.OFFLINE_AT, unit));
        }
    }

    /** An mqtt_sub item. */
    public record Subscription(String clientId, String topic, int qos) {

        static Subscription from(Map<String, AttributeValue> item) {
            return new Subscription(str(item, Attr.CLIENTID), str(item, Attr.TOPIC), (int) num(item, Attr.QOS));
        }
    }

    /**
     * An mqtt_msg or mqtt_retain item. {@code payload} is null when it was too large to store
     * ({@code truncated}: the item's {@code payload_truncated}; {@code payloadSize} still tells its size).
     */
    public record Message(
            String msgId,
            String topic,
            int qos,
            String sender,
            boolean retain,
            long arrived,
            byte[] payload,
            boolean binary,
            int payloadSize,
            boolean truncated) {

        static Message from(Map<String, AttributeValue> item, TimeUnitSetting unit) {
            AttributeValue payload = item.get(Attr.PAYLOAD);
            byte[] bytes = Attributes.bytes(payload);
            boolean binary = bytes != null && payload.s() == null;
            int size = bytes != null ? bytes.length : (int) num(item, Attr.PAYLOAD_SIZE);
            return new Message(
                    str(item, Attr.MSGID),
                    str(item, Attr.TOPIC),
                    (int) num(item, Attr.QOS),
                    str(item, Attr.SENDER),
                    num(item, Attr.RETAIN) == 1,
                    millis(item, Attr.ARRIVED, unit),
                    bytes,
                    binary,
                    size,
                    bytes == null || num(item, Attr.PAYLOAD_TRUNCATED) == 1);
        }
    }

    /** An mqtt_acked item. */
    public record Ack(String topic, String clientId, String msgId) {

        static Ack from(Map<String, AttributeValue> item) {
            return new Ack(str(item, Attr.TOPIC), str(item, Attr.CLIENTID), str(item, Attr.MSGID));
        }
    }

    /** The msgids pending for a topic in mqtt_topic_msg_map (its {@code MsgId} set). */
    public record PendingIds(String topic, List<String> msgIds) {}

    /** One page of a listing and the cursor of the next, null on the last page. */
    public record Page<T>(List<T> items, String next) {}

    private static long millis(Map<String, AttributeValue> item, String attribute, TimeUnitSetting unit) {
        long value = num(item, attribute);
        return unit == TimeUnitSetting.SECONDS ? value * 1000 : value;
    }
}
