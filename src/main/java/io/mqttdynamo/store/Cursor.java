package io.mqttdynamo.store;

import java.io.IOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Listing cursors: the JSON of a key's string attributes ({@code {"clientid":"…","topic":"…"}}) in
 * URL-safe base64, so that any key value (control characters, separators, any Unicode) comes back
 * exactly as it was.
 */
final class Cursor {

    static final String INVALID = "invalid cursor: use the 'next' value of the previous page";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Cursor() {}

    static String encode(Map<String, AttributeValue> key) {
        ObjectNode json = MAPPER.createObjectNode();
        new TreeMap<>(key).forEach((name, value) -> json.put(name, value.s()));
        try {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(MAPPER.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The key a cursor stands for; null for none; IllegalArgumentException for one not of this table. */
    static Map<String, AttributeValue> decode(Tables table, String cursor) {
        if (cursor == null || cursor.isEmpty()) {
            return null;
        }
        JsonNode json;
        try {
            json = MAPPER.readTree(Base64.getUrlDecoder().decode(cursor));
        } catch (IllegalArgumentException | IOException e) {
            throw new IllegalArgumentException(INVALID);
        }
        if (json == null || !json.isObject() || json.size() != (table.rangeKey() == null ? 1 : 2)) {
            throw new IllegalArgumentException(INVALID);
        }
        Map<String, AttributeValue> key = new LinkedHashMap<>();
        key.put(
                table.hashKey(),
                AttributeValue.fromS(keyValue(json, table.hashKey(), KeyLimits.PARTITION_KEY_MAX_BYTES)));
        if (table.rangeKey() != null) {
            key.put(
                    table.rangeKey(),
                    AttributeValue.fromS(keyValue(json, table.rangeKey(), KeyLimits.SORT_KEY_MAX_BYTES)));
        }
        return key;
    }

    private static String keyValue(JsonNode json, String attribute, int maxBytes) {
        JsonNode value = json.get(attribute);
        if (value == null || !value.isTextual() || !KeyLimits.fits(value.textValue(), maxBytes)) {
            throw new IllegalArgumentException(INVALID);
        }
        return value.textValue();
    }
}
