package io.mqttdynamo.ingest;

import java.util.Base64;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;

import io.mqttdynamo.broker.Republisher;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;

/**
 * Decodes the JSON envelopes a broker rule republishes: one per published message (EMQX
 * {@code message.publish} fields) and one per acknowledgement (EMQX {@code $events/message_acked}).
 */
public final class EnvelopeDecoder {

    private EnvelopeDecoder() {}

    /**
     * A published message. {@code id} becomes the msgid, so that acks match and a redelivered envelope
     * is stored once: EMQX's message id (32 hex digits), or a UUID (36 characters, an AWS IoT rule's
     * {@code newuuid()}); without one a new msgid is made. {@code payload_b64} wins over {@code payload}
     * (binary payloads).
     */
    public static BrokerEvent.MessagePublished message(byte[] envelope, EmqxMsgId ids, long receivedMillis) {
        JsonNode json = Json.object(envelope);
        String topic = Json.requiredText(json, "topic");
        String id = Json.text(json, "id");
        long publishedMillis = Json.millis(json, receivedMillis, "publish_received_at", "timestamp");
        String msgId = id == null || id.isEmpty()
                ? ids.next()
                : id.length() == UUID_LENGTH ? fromUuid(id, publishedMillis) : msgId(id);
        boolean retain =
                json.path("flags").path("retain").asBoolean(json.path("retain").asBoolean(false));
        return new BrokerEvent.MessagePublished(
                msgId,
                topic,
                Json.qos(json.get("qos"), 0),
                retain,
                orEmpty(Json.text(json, "clientid")),
                payload(json),
                publishedMillis);
    }

    private static final int UUID_LENGTH = 36;

    /**
     * The msgid of an envelope identified by a UUID: a GUID of EMQX's layout whose upper 64 bits are the
     * publish time in microseconds (so that msgids keep sorting by time, which trimming the {@code MsgId}
     * sets relies on) and whose lower 64 bits are the UUID's lower half (random in a version 4 UUID).
     * A redelivered envelope carries the same UUID and time, and so gets the same msgid. AWS IoT's rule SQL
     * computes {@code newuuid()} and {@code timestamp()} once per rule evaluation, into the republished
     * payload (AWS IoT developer guide, "Functions").
     */
    static String fromUuid(String id, long publishedMillis) {
        long lower;
        try {
            lower = UUID.fromString(id).getLeastSignificantBits();
        } catch (IllegalArgumentException e) {
            throw new MalformedEventException(
                    "invalid_id", "'id' must be 32 hex digits or a UUID, got: " + shorten(id));
        }
        byte[] guid = new byte[16];
        long micros = publishedMillis * 1000L;
        for (int i = 0; i < 8; i++) {
            guid[i] = (byte) (micros >>> (56 - 8 * i));
            guid[8 + i] = (byte) (lower >>> (56 - 8 * i));
        }
        return EmqxMsgId.encode(guid);
    }

    /**
     * An acknowledgement: {@code clientid} is the subscriber that acked, {@code from_clientid} the sender;
     * {@code pub_props} (when the rule selects it) may carry the service's mark on a copy of a stored message.
     */
    public static BrokerEvent.MessageAcked ack(byte[] envelope, long receivedMillis) {
        JsonNode json = Json.object(envelope);
        return new BrokerEvent.MessageAcked(
                msgId(Json.requiredText(json, "id")),
                Json.requiredText(json, "topic"),
                Json.requiredText(json, "clientid"),
                orEmpty(Json.text(json, "from_clientid")),
                Json.qos(json.get("qos"), 1),
                Json.millis(json, receivedMillis, "timestamp", "publish_received_at"),
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
