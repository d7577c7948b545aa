package io.mqttdynamo.ingest;

import java.util.Arrays;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * Decodes EMQX's client event messages ({@code $SYS/brokers/<node>/clients/<clientid>/connected},
 * {@code disconnected}, {@code subscribed}, {@code unsubscribed}; EMQX 5 and 4 alike) into broker events.
 * Other client events are ignored.
 */
public final class EmqxEventDecoder {

    private EmqxEventDecoder() {
    }

    /** The event, or empty for an event kind that no hook uses. */
    public static Optional<BrokerEvent> decode(String topic, byte[] payload, long receivedMillis) {
        String[] levels = topic.split("/", -1);
        String kind = levels[levels.length - 1];
        if (!kind.equals("connected") && !kind.equals("disconnected") && !kind.equals("subscribed")
                && !kind.equals("unsubscribed")) {
            return Optional.empty();
        }
        JsonNode json = Json.object(payload);
        String node = nodeOf(levels, json);
        // The topic's client id is authoritative: the broker wrote it from the connection itself. A
        // payload 'clientid' is only a copy; one that says otherwise is not trusted and the event is
        // refused. The payload's id is used only when the topic has none.
        String clientId = clientIdOf(levels);
        String claimed = Json.text(json, "clientid");
        if (clientId == null || clientId.isEmpty()) {
            clientId = claimed;
        } else if (claimed != null && !claimed.isEmpty() && !claimed.equals(clientId)) {
            throw new MalformedEventException("clientid_mismatch", "'clientid' " + EnvelopeDecoder.shorten(claimed)
                    + " is not the topic's client " + EnvelopeDecoder.shorten(clientId));
        }
        if (clientId == null || clientId.isEmpty()) {
            throw new MalformedEventException("missing_field", "no 'clientid' in the event or its topic");
        }
        long ts = Json.millis(json, receivedMillis, "ts");
        return Optional.of(switch (kind) {
            case "connected" -> new BrokerEvent.ClientConnected(clientId, node, Json.text(json, "username"),
                    Json.millis(json, ts, "connected_at", "ts"));
            case "disconnected" -> new BrokerEvent.ClientDisconnected(clientId, node, Json.text(json, "reason"),
                    Json.millis(json, ts, "disconnected_at", "ts"));
            case "subscribed" -> new BrokerEvent.ClientSubscribed(clientId, Json.requiredText(json, "topic"),
                    subscribedQos(json), ts, isNew(json));
            default -> new BrokerEvent.ClientUnsubscribed(clientId, Json.requiredText(json, "topic"), ts);
        });
    }

    /** {@code subopts.qos} (EMQX 5), else {@code qos} (EMQX 4), else 0; a present one must be 0, 1 or 2. */
    private static int subscribedQos(JsonNode json) {
        JsonNode subopts = json.get("subopts");
        if (subopts != null && !subopts.isObject()) {
            throw new MalformedEventException("invalid_qos", "'subopts' must be an object");
        }
        int fallback = Json.qos(json.get("qos"), 0);
        return subopts == null ? fallback : Json.qos(subopts.get("qos"), fallback);
    }

    /**
     * {@code subopts.is_new} (EMQX 5: false when the session held the filter already, as when the subscribe API
     * restores a subscription the client made itself; emqx_session_mem:subscribe, emqx_sys:on_client_subscribed);
     * true when absent (EMQX 4).
     */
    private static boolean isNew(JsonNode json) {
        JsonNode isNew = json.path("subopts").path("is_new");
        return !isNew.isBoolean() || isNew.booleanValue();
    }

    /** The level after {@code brokers}, else the event's own {@code node} field. */
    private static String nodeOf(String[] levels, JsonNode json) {
        for (int i = 0; i + 1 < levels.length; i++) {
            if (levels[i].equals("brokers")) {
                return levels[i + 1];
            }
        }
        String node = Json.text(json, "node");
        return node == null ? "" : node;
    }

    /** Everything between {@code clients} and the event kind: client ids may hold slashes. */
    private static String clientIdOf(String[] levels) {
        for (int i = 0; i + 2 < levels.length; i++) {
            if (levels[i].equals("clients")) {
                return String.join("/", Arrays.copyOfRange(levels, i + 1, levels.length - 1));
            }
        }
        return null;
    }
}
