package io.mqttdynamo.store;

import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** One change to one item of the six tables, as the write pipeline queues, coalesces and sends it. */
public sealed interface ItemWrite {

    Tables table();

    Map<String, AttributeValue> key();

    /** Replaces the whole item; sent in a BatchWriteItem. */
    record Put(Tables table, Map<String, AttributeValue> item) implements ItemWrite {
        @Override
        public Map<String, AttributeValue> key() {
            return table.keyOf(item);
        }
    }

    /** Deletes the item; sent in a BatchWriteItem. */
    record Delete(Tables table, Map<String, AttributeValue> key) implements ItemWrite {
    }

    /**
     * Adds strings to a string-set attribute (UpdateItem ADD). With a {@code cap}, the set is kept to that
     * many members by removing the first ones in {@code order} after an addition that overfills it.
     */
    record AddToSet(Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values, int cap,
            Comparator<String> order) implements ItemWrite {
        public AddToSet {
            values = new LinkedHashSet<>(values);
        }

        /** An addition without a cap. */
        public AddToSet(Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values) {
            this(table, key, attribute, values, 0, Comparator.naturalOrder());
        }
    }

    /** Removes strings from a string-set attribute (UpdateItem DELETE). */
    record RemoveFromSet(Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values)
            implements ItemWrite {
        public RemoveFromSet {
            values = new LinkedHashSet<>(values);
        }
    }

    /**
     * An UpdateItem with a condition; when the condition fails the update is stale (a newer state is
     * stored) and is dropped, not retried.
     */
    record ConditionalUpdate(Tables table, Map<String, AttributeValue> key, String updateExpression,
            String conditionExpression, Map<String, String> names, Map<String, AttributeValue> values)
            implements ItemWrite {
    }
}
