package io.mqttdynamo.ingest;

import java.util.Base64;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;

/**
 * Decodes the JSON envelopes a broker rule republishes: one per published message (EMQX
 * {@code message.publish} fields) and one per acknowledgement (EMQX {@code $events/message_acked}).
 */
public final class EnvelopeDecoder {

    private EnvelopeDecoder() {
    }

    /**
     * A published message. {@code id} (32 hex digits) becomes the msgid, so that acks match; without
     * one a new msgid is made. {@code payload_b64} wins over {@code payload} (binary payloads).
     */
    public static BrokerEvent.MessagePublished message(byte[] envelope, EmqxMsgId ids, long receivedMillis) {
        JsonNode json = Json.object(envelope);
        String topic = Json.requiredText(json, "topic");
        String id = Json.text(json, "id");
        String msgId = id == null || id.isEmpty() ? ids.next() : msgId(id);
        boolean retain = json.path("flags").path("retain").asBoolean(json.path("retain").asBoolean(false));
        return new BrokerEvent.MessagePublished(msgId, topic, Json.qos(json.get("qos"), 0), retain,
                orEmpty(Json.text(json, "clientid")), payload(json),
                Json.millis(json, receivedMillis, "publish_received_at", "timestamp"));
    }

    /**
     * An acknowledgement: {@code clientid} is the subscriber that acked, {@code from_clientid} the sender;
     * {@code pub_props} (when the rule selects it) may carry the service's mark on a copy of a stored message.
     */
    public static BrokerEvent.MessageAcked ack(byte[] envelope, long receivedMillis) {
        JsonNode json = Json.object(envelope);
        return new BrokerEvent.MessageAcked(msgId(Json.requiredText(json, "id")), Json.requiredText(json, "topic"),
                Json.requiredText(json, "clientid"), orEmpty(Json.text(json, "from_clientid")),
                Json.qos(json.get("qos"), 1), Json.millis(json, receivedMillis, "timestamp", "publish_received_at"),
                orEmpty(userProperty(json.path("pub_props"), Republisher.MARKER)));
    }

    /**
     * A user property of EMQX's {@code pub_props}: {@code "User-Property": {"name": "value"}}, or the
     * ordered form {@code "User-Property-Pairs": [{"key": …, "value": …}]}; null when absent.
     */
    static String userProperty(JsonNode properties, String name) {
        JsonNode byName = properties.path("User-Property").path(name);
        if (byName.isTextual()) {
            return byName.asText();
        }
        for (JsonNode pair : properties.path("User-Property-Pairs")) {
            if (name.equals(pair.path("key").asText(null)) && pair.path("value").isTextual()) {
                return pair.path("value").asText();
            }
        }
        return null;
    }

    private static String msgId(String id) {
        try {
            return EmqxMsgId.fromHex(id);
        } catch (IllegalArgumentException e) {
            throw new MalformedEventException("invalid_id", "'id' must be 32 hex digits, got: " + shorten(id));
        }
    }

    private static byte[] payload(JsonNode json) {
        String base64 = Json.text(json, "payload_b64");
        if (base64 != null) {
            try {
                return Base64.getDecoder().decode(base64);
            } catch (IllegalArgumentException e) {
                throw new MalformedEventException("invalid_payload_b64", e.getMessage());
            }
        }
        JsonNode payload = json.get("payload");
        if (payload == null || payload.isNull()) {
            return new byte[0];
        }
        String text = payload.isTextual() ? payload.asText() : payload.toString();
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String orEmpty(String value) {
        return value == null ? "" : value;
    }

    static String shorten(String value) {
        return value.length() > 64 ? value.substring(0, 64) + "…" : value;
    }
}
