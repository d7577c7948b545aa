package io.mqttdynamo.ingest;

import java.io.IOException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reading the JSON of broker events: tree access only (no reflection), and clear errors. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Epoch values below this are seconds, not milliseconds (year 5138 in seconds). */
    private static final long MILLIS_THRESHOLD = 100_000_000_000L;

    private Json() {
    }

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

    /** The first of {@code fields} holding a time, in epoch milliseconds (seconds are converted). */
    static long millis(JsonNode node, long fallback, String... fields) {
        for (String field : fields) {
            JsonNode value = node.get(field);
            if (value != null && value.canConvertToLong()) {
                long time = value.asLong();
                return time < MILLIS_THRESHOLD ? time * 1000 : time;
            }
        }
        return fallback;
    }

    static int qos(JsonNode value, int fallback) {
        if (value == null || !value.canConvertToInt()) {
            return fallback;
        }
        int qos = value.asInt();
        if (qos < 0 || qos > 2) {
            throw new MalformedEventException("invalid_qos", "qos " + qos);
        }
        return qos;
    }
}
