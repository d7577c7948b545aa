package io.mqttdynamo.ingest;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reading the JSON of broker events: tree access only (no reflection), and clear errors. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Epoch values below this are seconds, not milliseconds (year 5138 in seconds). */
    private static final long MILLIS_THRESHOLD = 100_000_000_000L;

    private Json() {}

    static JsonNode object(byte[] payload) {
        JsonNode node;
        try {
            node = MAPPER.readTree(payload);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MalformedEventException("invalid_json", e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedEventException("invalid_json", e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new MalformedEventException("invalid_json", "expected a JSON object");
        }
        return node;
    }

    static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    static String requiredText(JsonNode node, String field) {
        String value = text(node, field);
        if (value == null || value.isEmpty()) {
            throw new MalformedEventException("missing_field", "no '" + field + "' in the event");
        }
        return value;
    }

    /**
     * The first of {@code fields} present, in epoch milliseconds (seconds are converted); {@code fallback}
     * when none is. A present field must be a whole number of zero or more: anything else (negative,
     * fractional, out of range, text, null, an object) is malformed.
     */
    static long millis(JsonNode node, long fallback, String... fields) {
        for (String field : fields) {
            JsonNode value = node.get(field);
            if (value == null) {
                continue;
            }
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0) {
                throw new MalformedEventException(
                        "invalid_time",
                        "'" + field + "' must be a whole number of" + " seconds or milliseconds since the epoch, got: "
                                + EnvelopeDecoder.shorten(value.toString()));
            }
            long time = value.asLong();
            return time < MILLIS_THRESHOLD ? time * 1000 : time;
        }
        return fallback;
    }

    /**
     * A QoS: {@code fallback} when the field is absent ({@code value} null); otherwise it must be the
     * whole number 0, 1 or 2. Anything else (null, text, true, an object, 1.5, 1e400, a number out of
     * range) is malformed: no value is guessed.
     */
    static int qos(JsonNode value, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 0 || value.asInt() > 2) {
            throw new MalformedEventException(
                    "invalid_qos", "qos must be 0, 1 or 2, got: " + EnvelopeDecoder.shorten(value.toString()));
        }
        return value.asInt();
    }
}
