package io.mqttdynamo.ingest;

import java.util.Arrays;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * Decodes EMQX's client events into broker events, in either of EMQX's two forms: the {@code $SYS} messages
 * ({@code $SYS/brokers/<node>/clients/<clientid>/connected}, {@code disconnected}, {@code subscribed},
 * {@code unsubscribed}; EMQX 5 and 4 alike, published at QoS 0), or the rule engine's client events
 * ({@code $events/client_connected}, {@code client_disconnected}, {@code session_subscribed},
 * {@code session_unsubscribed}) that a rule republishes at QoS 1 as JSON naming its {@code event}. Other client
 * events are ignored.
 */
public final class EmqxEventDecoder {

    private EmqxEventDecoder() {}

    /** The event, or empty for an event kind that no hook uses. */
    public static Optional<BrokerEvent> decode(String topic, byte[] payload, long receivedMillis) {
        String[] levels = topic.split("/", -1);
        String clientId = clientIdOf(levels);
        if (clientId == null) {
            return ruleEvent(Json.object(payload), receivedMillis);
        }
        String kind = levels[levels.length - 1];
        if (!kind.equals("connected")
                && !kind.equals("disconnected")
                && !kind.equals("subscribed")
                && !kind.equals("unsubscribed")) {
            return Optional.empty();
        }
        JsonNode json = Json.object(payload);
        String node = nodeOf(levels, json);
        // The topic's client id is authoritative: the broker wrote it from the connection itself. A
        // payload 'clientid' is only a copy; one that says otherwise is not trusted and the event is
        // refused. The payload's id is used only when the topic has none.
        String claimed = Json.text(json, "clientid");
        if (clientId.isEmpty()) {
            clientId = claimed;
        } else if (claimed != null && !claimed.isEmpty() && !claimed.equals(clientId)) {
            throw new MalformedEventException(
                    "clientid_mismatch",
                    "'clientid' " + EnvelopeDecoder.shorten(claimed) + " is not the topic's client "
                            + EnvelopeDecoder.shorten(clientId));
        }
        return Optional.of(event(kind, clientId, node, json, Json.millis(json, receivedMillis, "ts")));
    }

    /**
     * A client event of EMQX 5's rule engine, as a rule's republish action sends it: the selected columns as
     * JSON, among them {@code event} ({@code client.connected}, {@code client.disconnected},
     * {@code session.subscribed}, {@code session.unsubscribed}), {@code clientid}, {@code node} and
     * {@code timestamp} in milliseconds (emqx_rule_events: eventmsg_connected, eventmsg_disconnected,
     * eventmsg_sub_or_unsub, with_basic_columns). Their subscription events carry no {@code is_new}.
     */
    private static Optional<BrokerEvent> ruleEvent(JsonNode json, long receivedMillis) {
        String kind = switch (Json.requiredText(json, "event")) {
            case "client.connected" -> "connected";
            case "client.disconnected" -> "disconnected";
            case "session.subscribed" -> "subscribed";
            case "session.unsubscribed" -> "unsubscribed";
            default -> null;
        };
        if (kind == null) {
            return Optional.empty();
        }
        String node = Json.text(json, "node");
        return Optional.of(event(
                kind,
                Json.requiredText(json, "clientid"),
                node == null ? "" : node,
                json,
                Json.millis(json, receivedMillis, "timestamp")));
    }

    private static BrokerEvent event(String kind, String clientId, String node, JsonNode json, long ts) {
        if (clientId == null || clientId.isEmpty()) {
            throw new MalformedEventException("missing_field", "no 'clientid' in the event or its topic");
        }
        return switch (kind) {
            case "connected" ->
                new BrokerEvent.ClientConnected(
                        clientId, node, Json.text(json, "username"), Json.millis(json, ts, "connected_at"));
            case "disconnected" ->
                new BrokerEvent.ClientDisconnected(
                        clientId, node, Json.text(json, "reason"), Json.millis(json, ts, "disconnected_at"));
            case "subscribed" ->
                new BrokerEvent.ClientSubscribed(
                        clientId, Json.requiredText(json, "topic"), subscribedQos(json), ts, isNew(json));
            default -> new BrokerEvent.ClientUnsubscribed(clientId, Json.requiredText(json, "topic"), ts);
        };
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

    /**
     * Everything between {@code clients} and the event kind (client ids may hold slashes); null for a topic
     * without a {@code clients} level, empty when nothing stands between them.
     */
    private static String clientIdOf(String[] levels) {
        for (int i = 0; i + 2 < levels.length; i++) {
            if (levels[i].equals("clients")) {
                return String.join("/", Arrays.copyOfRange(levels, i + 1, levels.length - 1));
            }
        }
        return null;
    }
}
