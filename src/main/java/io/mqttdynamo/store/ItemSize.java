package io.mqttdynamo.store;

import java.math.BigDecimal;
import java.util.Map;

import io.mqttdynamo.domain.ItemLimits;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * DynamoDB's documented item size rules, so that an item it would refuse is known before it is sent
 * (local servers measure differently: dynalite counts UTF-16 units, DynamoDB UTF-8 bytes). Key limits
 * are {@link KeyLimits}.
 */
public final class ItemSize {

    /** Largest item: attribute names and values together. */
    public static final int MAX_ITEM_BYTES = ItemLimits.MAX_ITEM_BYTES;

    private ItemSize() {}

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
            case BS ->
                value.bs().stream().mapToLong(b -> b.asByteArray().length).sum();
            case BOOL, NUL -> 1;
            case L -> 3 + value.l().stream().mapToLong(v -> 1 + of(v)).sum();
            case M ->
                3
                        + value.m().entrySet().stream()
                                .mapToLong(e -> 1 + utf8(e.getKey()) + of(e.getValue()))
                                .sum();
            default -> 0;
        };
    }

    static long utf8(String s) {
        return KeyLimits.utf8Length(s);
    }

    /** A number's size: its significant digits, two to a byte, plus one (DynamoDB's documented estimate). */
    private static long numberSize(String number) {
        String digits = new BigDecimal(number).unscaledValue().abs().toString().replaceAll("0+$", "");
        return (Math.max(1, digits.length()) + 1) / 2 + 1;
    }
}
