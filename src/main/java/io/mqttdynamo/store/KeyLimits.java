package io.mqttdynamo.store;

import io.mqttdynamo.domain.ItemLimits;

/**
 * DynamoDB's limits on key values, known up front so that a value DynamoDB would refuse is refused here
 * with a clear message, before any request: a string partition (HASH) key value is 1 to 2048 bytes of
 * UTF-8, a sort (RANGE) key value 1 to 1024 bytes; key attributes cannot be empty strings. Sizes are
 * UTF-8 bytes, as DynamoDB counts them (not UTF-16 units: 1000 "€" are 3000 bytes).
 */
public final class KeyLimits {

    /** Largest partition key value, in bytes of UTF-8. */
    public static final int PARTITION_KEY_MAX_BYTES = ItemLimits.PARTITION_KEY_MAX_BYTES;
    /** Largest sort key value, in bytes of UTF-8. */
    public static final int SORT_KEY_MAX_BYTES = ItemLimits.SORT_KEY_MAX_BYTES;

    /** A key value DynamoDB cannot hold; {@link #parameter()} names where it came from. */
    public static final class InvalidKeyException extends IllegalArgumentException {

        private final String parameter;

        InvalidKeyException(String parameter, String message) {
            super(message);
            this.parameter = parameter;
        }

        public String parameter() {
            return parameter;
        }
    }

    private KeyLimits() {}

    /** {@code value} as a partition key value, else {@link InvalidKeyException} naming {@code parameter}. */
    public static String partitionKey(String parameter, String value) {
        return check(parameter, value, PARTITION_KEY_MAX_BYTES, "partition key");
    }

    /** {@code value} as a sort key value, else {@link InvalidKeyException} naming {@code parameter}. */
    public static String sortKey(String parameter, String value) {
        return check(parameter, value, SORT_KEY_MAX_BYTES, "sort key");
    }

    /** Why DynamoDB would refuse {@code key} of {@code table}, or empty when it would not. */
    public static java.util.Optional<String> problem(
            Tables table, java.util.Map<String, software.amazon.awssdk.services.dynamodb.model.AttributeValue> key) {
        try {
            partitionKey(table.hashKey(), key.get(table.hashKey()).s());
            if (table.rangeKey() != null) {
                sortKey(table.rangeKey(), key.get(table.rangeKey()).s());
            }
            return java.util.Optional.empty();
        } catch (InvalidKeyException e) {
            return java.util.Optional.of(e.getMessage());
        }
    }

    /** Whether {@code value} fits a key of {@code maxBytes}. */
    public static boolean fits(String value, int maxBytes) {
        return value != null && !value.isEmpty() && utf8Length(value) <= maxBytes;
    }

    private static String check(String parameter, String value, int maxBytes, String kind) {
        if (value == null || value.isEmpty()) {
            throw new InvalidKeyException(
                    parameter,
                    "'" + parameter + "' is required: 1 to " + maxBytes + " bytes of UTF-8 (DynamoDB's " + kind
                            + " limit)");
        }
        int bytes = utf8Length(value);
        if (bytes > maxBytes) {
            throw new InvalidKeyException(
                    parameter,
                    "'" + parameter + "' is " + bytes + " bytes of UTF-8; at most " + maxBytes + " (DynamoDB's " + kind
                            + " limit), so nothing is stored under it");
        }
        return value;
    }

    /** Bytes of {@code value} in UTF-8, counted without encoding it; a lone surrogate counts as '?' does. */
    static int utf8Length(String value) {
        int bytes = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                bytes += 1;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }
}
