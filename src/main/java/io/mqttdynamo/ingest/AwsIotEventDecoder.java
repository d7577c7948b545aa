package io.mqttdynamo.ingest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * Decodes AWS IoT Core's lifecycle events into broker events:
 * {@code $aws/events/presence/connected|disconnected/<clientId>} and
 * {@code $aws/events/subscriptions/subscribed|unsubscribed/<clientId>} (JSON with {@code clientId},
 * {@code timestamp} in milliseconds, {@code eventType}, {@code versionNumber} for presence and a
 * {@code topics} array for subscriptions). Other events ({@code connect_failed}, thing events) are ignored.
 *
 * <p>AWS names no broker node: the configured node name is used. Subscription events carry no QoS: the
 * rows get {@value #SUBSCRIPTION_QOS}, the QoS every subscription is granted at least.
 */
public final class AwsIotEventDecoder {

    /** The qos stored for subscriptions from AWS IoT, whose events do not tell it. */
    public static final int SUBSCRIPTION_QOS = 0;

    private AwsIotEventDecoder() {}

    /** The events of one message: none for an event kind no hook uses, one per topic for subscriptions. */
    public static List<BrokerEvent> decode(String topic, byte[] payload, long receivedMillis, String node) {
        String[] levels = topic.split("/", -1);
        int kindAt = kindLevel(levels);
        if (kindAt < 0) {
            return List.of();
        }
        String kind = levels[kindAt];
        JsonNode json = Json.object(payload);
        String eventType = Json.text(json, "eventType");
        if (eventType != null && !eventType.isEmpty() && !eventType.equals(kind)) {
            throw new MalformedEventException(
                    "event_mismatch", "eventType '" + eventType + "' on a '" + kind + "' topic");
        }
        String clientId = Json.text(json, "clientId");
        if (clientId == null || clientId.isEmpty()) {
            clientId = String.join("/", Arrays.copyOfRange(levels, kindAt + 1, levels.length));
        }
        if (clientId.isEmpty()) {
            throw new MalformedEventException("missing_field", "no 'clientId' in the event or its topic");
        }
        long at = Json.millis(json, receivedMillis, "timestamp");
        return switch (kind) {
            case "connected" -> List.of(new BrokerEvent.ClientConnected(clientId, node, null, at, version(json)));
            case "disconnected" ->
                List.of(new BrokerEvent.ClientDisconnected(
                        clientId, node, Json.text(json, "disconnectReason"), at, version(json)));
            default -> subscriptionEvents(kind, clientId, json, at);
        };
    }

    /** Where {@code connected} … {@code unsubscribed} stands after {@code presence} or {@code subscriptions}. */
    private static int kindLevel(String[] levels) {
        for (int i = 0; i + 2 < levels.length; i++) {
            String group = levels[i];
            String kind = levels[i + 1];
            if (group.equals("presence") && (kind.equals("connected") || kind.equals("disconnected"))
                    || group.equals("subscriptions") && (kind.equals("subscribed") || kind.equals("unsubscribed"))) {
                return i + 1;
            }
        }
        return -1;
    }

    private static long version(JsonNode json) {
        JsonNode value = json.get("versionNumber");
        if (value == null || value.isNull()) {
            return BrokerEvent.NO_VERSION;
        }
        if (!value.canConvertToLong() || value.asLong() < 0) {
            throw new MalformedEventException("invalid_version", "versionNumber " + value);
        }
        return value.asLong();
    }

    private static List<BrokerEvent> subscriptionEvents(String kind, String clientId, JsonNode json, long at) {
        JsonNode topics = json.get("topics");
        if (topics == null || !topics.isArray() || topics.isEmpty()) {
            throw new MalformedEventException("missing_field", "no 'topics' array in the event");
        }
        List<BrokerEvent> events = new ArrayList<>(topics.size());
        for (JsonNode topic : topics) {
            if (!topic.isTextual() || topic.asText().isEmpty()) {
                throw new MalformedEventException("missing_field", "a topic in 'topics' is not a non-empty string");
            }
            events.add(
                    kind.equals("subscribed")
                            ? new BrokerEvent.ClientSubscribed(clientId, topic.asText(), SUBSCRIPTION_QOS, at)
                            : new BrokerEvent.ClientUnsubscribed(clientId, topic.asText(), at));
        }
        return events;
    }
}
