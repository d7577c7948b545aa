package io.mqttdynamo.store;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Optional;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * DynamoDB's documented size rules, so that an item or key it would refuse is known before it is sent
 * (local servers measure differently: dynalite counts UTF-16 units, DynamoDB UTF-8 bytes).
 */
public final class ItemSize {

    /** Largest item: attribute names and values together. */
    public static final int MAX_ITEM_BYTES = 400 * 1024;
    /** Largest partition key value. */
    public static final int MAX_PARTITION_KEY_BYTES = 2048;
    /** Largest sort key value. */
    public static final int MAX_SORT_KEY_BYTES = 1024;

    private ItemSize() {
    }

    /** The item's size as DynamoDB counts it. */
    public static long of(Map<String, AttributeValue> item) {
        long size = 0;
        for (Map.Entry<String, AttributeValue> attribute : item.entrySet()) {
            size += utf8(attribute.getKey()) + of(attribute.getValue());
        }
        return size;
    }

    /** An attribute value's size: UTF-8 bytes of strings, bytes of binaries, about one byte per two digits. */
    public static long of(AttributeValue value) {
        return switch (value.type()) {
            case S -> utf8(value.s());
            case N -> numberSize(value.n());
            case B -> value.b().asByteArray().length;
            case SS -> value.ss().stream().mapToLong(ItemSize::utf8).sum();
            case NS -> value.ns().stream().mapToLong(ItemSize::numberSize).sum();
            case BS -> value.bs().stream().mapToLong(b -> b.asByteArray().length).sum();
            case BOOL, NUL -> 1;
            case L -> 3 + value.l().stream().mapToLong(v -> 1 + of(v)).sum();
            case M -> 3 + value.m().entrySet().stream().mapToLong(e -> 1 + utf8(e.getKey()) + of(e.getValue())).sum();
            default -> 0;
        };
    }

    /** Why DynamoDB would refuse {@code key} of {@code table}, or empty when it would not. */
    public static Optional<String> keyProblem(Tables table, Map<String, AttributeValue> key) {
        Optional<String> hash = keyValueProblem(table.hashKey(), key.get(table.hashKey()), MAX_PARTITION_KEY_BYTES);
        if (hash.isPresent() || table.rangeKey() == null) {
            return hash;
        }
        return keyValueProblem(table.rangeKey(), key.get(table.rangeKey()), MAX_SORT_KEY_BYTES);
    }

    private static Optional<String> keyValueProblem(String name, AttributeValue value, int limit) {
        if (value == null || value.s() == null || value.s().isEmpty()) {
            return Optional.of("key attribute " + name + " is empty");
        }
        long bytes = utf8(value.s());
        return bytes > limit
                ? Optional.of("key attribute " + name + " is " + bytes + " bytes (UTF-8); DynamoDB allows " + limit)
                : Optional.empty();
    }

    static long utf8(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** A number's size: its significant digits, two to a byte, plus one (DynamoDB's documented estimate). */
    private static long numberSize(String number) {
        String digits = new BigDecimal(number).unscaledValue().abs().toString().replaceAll("0+$", "");
        return (Math.max(1, digits.length()) + 1) / 2 + 1;
    }
}
