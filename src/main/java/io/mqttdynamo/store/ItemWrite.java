package io.mqttdynamo.store;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** One change to one item of the six tables, as the write pipeline queues, coalesces and sends it. */
public sealed interface ItemWrite {

    Tables table();

    /** Random tokens that tell one applied write from another. */
    final class Tokens {
        private Tokens() {}

        static String next() {
            java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
            return Long.toString(random.nextLong() & Long.MAX_VALUE, 36);
        }
    }

    Map<String, AttributeValue> key();

    /**
     * What an update leads to once DynamoDB has applied it, decided from DynamoDB's answer: the writes that
     * must be stored too before the update counts as stored (ordered after it, as they are queued after it).
     */
    @FunctionalInterface
    interface Then {
        /**
         * @param sent the update as it was sent (additions and removals folded into it, values taken out by the
         *     queue gone)
         * @param answer the item's attributes: as the request's ReturnValues asked for them (none when none), or,
         *     for a set change made on a condition about its values (see {@link AddToSet}, {@link RemoveFromSet}),
         *     what that condition proved or the item as read when it failed
         */
        List<ItemWrite> after(ItemWrite sent, Answer answer);
    }

    /** The item's attributes as DynamoDB answered an update with them, as a {@link Then} reads them. */
    final class Answer {
        private final Map<String, AttributeValue> attributes;

        Answer(Map<String, AttributeValue> attributes) {
            this.attributes = attributes;
        }

        /** The members of a string-set attribute; none when it is missing or not a string set. */
        public List<String> strings(String attribute) {
            AttributeValue set = attributes.get(attribute);
            return set != null && set.hasSs() ? set.ss() : List.of();
        }

        /** True when the string-set attribute holds {@code member}. */
        public boolean contains(String attribute, String member) {
            return strings(attribute).contains(member);
        }
    }

    /** The writes that follow {@code sent} (an update DynamoDB applied) by its {@link Then}s; empty for none. */
    static List<ItemWrite> followUps(ItemWrite sent, Map<String, AttributeValue> answer) {
        List<Then> thens = sent instanceof AddToSet a
                ? a.then()
                : sent instanceof RemoveFromSet r
                        ? r.then()
                        : sent instanceof ConditionalUpdate c ? c.then() : List.of();
        if (thens.isEmpty()) {
            return List.of();
        }
        List<ItemWrite> writes = new ArrayList<>();
        Answer read = new Answer(answer);
        for (Then then : thens) {
            writes.addAll(then.after(sent, read));
        }
        return writes;
    }

    /** Replaces the whole item; sent in a BatchWriteItem. */
    record Put(Tables table, Map<String, AttributeValue> item) implements ItemWrite {
        @Override
        public Map<String, AttributeValue> key() {
            return table.keyOf(item);
        }
    }

    /** Deletes the item; sent in a BatchWriteItem. */
    record Delete(Tables table, Map<String, AttributeValue> key) implements ItemWrite {}

    /**
     * Adds strings to a string-set attribute (UpdateItem ADD). With a {@code cap}, the set is kept to that
     * many members by removing the first ones in {@code order} after an addition that overfills it. With
     * {@code then}, DynamoDB answers with the whole item after the addition (ReturnValues ALL_NEW), unless
     * {@code unlessIn} names a string-set attribute: the addition is then made only while none of its values is
     * a member there, and answers with nothing; when one is, the item is read and {@code then} decides from it
     * (the addition not made).
     */
    record AddToSet(
            Tables table,
            Map<String, AttributeValue> key,
            String attribute,
            Set<String> values,
            int cap,
            Comparator<String> order,
            List<Then> then,
            String unlessIn)
            implements ItemWrite {
        public AddToSet {
            values = new LinkedHashSet<>(values);
            then = new ArrayList<>(then);
        }

        /** The same addition made whatever {@code unlessIn} holds, answered with the whole item after it. */
        public AddToSet withoutUnlessIn() {
            return new AddToSet(table, key, attribute, values, cap, order, then, null);
        }

        /** An addition with a cap whose {@code then} decides from the whole item after it. */
        public AddToSet(
                Tables table,
                Map<String, AttributeValue> key,
                String attribute,
                Set<String> values,
                int cap,
                Comparator<String> order,
                List<Then> then) {
            this(table, key, attribute, values, cap, order, then, null);
        }

        /** An addition with a cap and nothing to follow. */
        public AddToSet(
                Tables table,
                Map<String, AttributeValue> key,
                String attribute,
                Set<String> values,
                int cap,
                Comparator<String> order) {
            this(table, key, attribute, values, cap, order, List.of());
        }

        /** An addition without a cap. */
        public AddToSet(Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values) {
            this(table, key, attribute, values, 0, Comparator.naturalOrder());
        }
    }

    /**
     * Removes strings from a string-set attribute (UpdateItem DELETE). With {@code then}, the removal is made
     * only while every value is a member, and answers with nothing: {@code then} decides from the item as it was,
     * which held the values. When one is not a member, the item is read, the values that are members are removed
     * after it, and {@code then} decides from the item as read.
     */
    record RemoveFromSet(
            Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values, List<Then> then)
            implements ItemWrite {
        public RemoveFromSet {
            values = new LinkedHashSet<>(values);
            then = new ArrayList<>(then);
        }

        /** A removal with nothing to follow. */
        public RemoveFromSet(Tables table, Map<String, AttributeValue> key, String attribute, Set<String> values) {
            this(table, key, attribute, values, List.of());
        }
    }

    /**
     * An UpdateItem with a condition (or none: null); when the condition fails the update is stale (a newer
     * state is stored) and is dropped, not retried, and {@code then} is not asked.
     */
    record ConditionalUpdate(
            Tables table,
            Map<String, AttributeValue> key,
            String updateExpression,
            String conditionExpression,
            Map<String, String> names,
            Map<String, AttributeValue> values,
            Presence presence,
            List<Then> then)
            implements ItemWrite {

        public ConditionalUpdate {
            then = List.copyOf(then);
        }

        /** An update with nothing to follow. */
        public ConditionalUpdate(
                Tables table,
                Map<String, AttributeValue> key,
                String updateExpression,
                String conditionExpression,
                Map<String, String> names,
                Map<String, AttributeValue> values,
                Presence presence) {
            this(table, key, updateExpression, conditionExpression, names, values, presence, List.of());
        }

        /** An update that changes no counter. */
        public ConditionalUpdate(
                Tables table,
                Map<String, AttributeValue> key,
                String updateExpression,
                String conditionExpression,
                Map<String, String> names,
                Map<String, AttributeValue> values) {
            this(table, key, updateExpression, conditionExpression, names, values, null);
        }
    }

    /**
     * What a client state update means for the counters: the client is online after it or not. The update
     * sets {@code connect_state} and {@code client_shard}; their old values (ReturnValues UPDATED_OLD) tell
     * whether the client was counted already ({@code client_shard} present) and whether it was online.
     */
    record Presence(boolean online, String shard, String token) {

        /** A presence change with a new token, which tells its applied update apart from any other. */
        public Presence(boolean online, String shard) {
            this(online, shard, Tokens.next());
        }

        /**
         * The counter change of an update that DynamoDB applied before this service heard of it, from the
         * {@code previous_*} attributes it left on the item; null for none.
         */
        public Count countOfApplied(Map<String, AttributeValue> item) {
            AttributeValue shardBefore = item.get(Tables.Attr.PREVIOUS_CLIENT_SHARD);
            AttributeValue stateBefore = item.get(Tables.Attr.PREVIOUS_CONNECT_STATE);
            Map<String, AttributeValue> old = new java.util.HashMap<>(2);
            if (shardBefore != null && !"-".equals(shardBefore.s())) {
                old.put(Tables.Attr.CLIENT_SHARD, shardBefore);
            }
            if (stateBefore != null) {
                old.put(Tables.Attr.CONNECT_STATE, stateBefore);
            }
            return countOf(old);
        }

        /** The counter change the applied update makes, from the attributes it replaced; null for none. */
        public Count countOf(Map<String, AttributeValue> old) {
            boolean counted = old != null && old.containsKey(Tables.Attr.CLIENT_SHARD);
            AttributeValue state = counted ? old.get(Tables.Attr.CONNECT_STATE) : null;
            boolean wasOnline = state != null && "1".equals(state.n());
            long known = counted ? 0 : 1;
            long onlineDelta = (online ? 1 : 0) - (wasOnline ? 1 : 0);
            return known == 0 && onlineDelta == 0 ? null : new Count(shard, known, onlineDelta);
        }
    }

    /**
     * Adds to the client counters of one shard (UpdateItem ADD on mqtt_dynamo_stats). Waiting counts of
     * the same shard fold into one.
     */
    record Count(Tables table, Map<String, AttributeValue> key, long known, long online, String token)
            implements ItemWrite {
        public Count(String shard, long known, long online) {
            this(Tables.STATS, counterKey(shard), known, online, Tokens.next());
        }

        /** The counter item of a shard. */
        public static Map<String, AttributeValue> counterKey(String shard) {
            return Map.of(Tables.Attr.NAME, AttributeValue.fromS("clients#" + shard));
        }

        /** Both changes in one, under a new token (only changes never sent are folded). */
        Count plus(Count other) {
            return new Count(table, key, known + other.known, online + other.online, Tokens.next());
        }
    }
}
