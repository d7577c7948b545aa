package io.mqttdynamo.store;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Reading the attributes of an item as the store maps it to rows: forgiving, since other programs (the EMQX
 * backend, an operator) write these tables too: a missing or malformed attribute reads as empty or 0.
 */
final class Attributes {

    private Attributes() {}

    /** A string attribute; "" when missing or not a string. */
    static String str(Map<String, AttributeValue> item, String attribute) {
        AttributeValue value = item.get(attribute);
        return value == null || value.s() == null ? "" : value.s();
    }

    /** A number attribute as DynamoDB sends it; null when missing or not a number. */
    static String n(Map<String, AttributeValue> item, String attribute) {
        AttributeValue value = item.get(attribute);
        return value == null ? null : value.n();
    }

    /** A whole number attribute; 0 when missing or not one. */
    static long num(Map<String, AttributeValue> item, String attribute) {
        String value = n(item, attribute);
        try {
            return value == null ? 0 : Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A payload's bytes: a string's UTF-8, a binary's own; null when it is neither (or missing). */
    static byte[] bytes(AttributeValue value) {
        if (value == null) {
            return null;
        }
        if (value.s() != null) {
            return value.s().getBytes(StandardCharsets.UTF_8);
        }
        return value.b() != null ? value.b().asByteArray() : null;
    }

    static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }
}
