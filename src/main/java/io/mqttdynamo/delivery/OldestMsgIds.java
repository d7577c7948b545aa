package io.mqttdynamo.delivery;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

import io.mqttdynamo.domain.EmqxMsgId;

/**
 * Keeps, of everything offered, the {@code limit} oldest by msgid, in the order of
 * {@link EmqxMsgId#OLDEST_FIRST} (ids of another form last, by text), holding never more than {@code limit}:
 * a heap whose head is the newest kept, which an older arrival replaces. Each msgid is decoded once. Not
 * thread-safe.
 *
 * @param <T> what is kept with each msgid
 */
final class OldestMsgIds<T> {

    private record Entry<T>(BigInteger guid, String msgId, T value) {}

    private static final Comparator<Entry<?>> OLDEST_FIRST = Comparator.<Entry<?>, BigInteger>comparing(
                    Entry::guid, Comparator.nullsLast(Comparator.naturalOrder()))
            .thenComparing(Entry::msgId);

    private final int limit;
    private final PriorityQueue<Entry<T>> newestFirst;

    OldestMsgIds(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
        this.limit = limit;
        this.newestFirst = new PriorityQueue<>(Math.min(limit, 1024) + 1, OLDEST_FIRST.reversed());
    }

    /** Offers {@code value} under {@code msgId}: kept while it is among the {@code limit} oldest offered. */
    void offer(String msgId, T value) {
        Entry<T> entry = new Entry<>(guidOrNull(msgId), msgId, value);
        if (newestFirst.size() < limit) {
            newestFirst.add(entry);
        } else if (OLDEST_FIRST.compare(entry, newestFirst.peek()) < 0) {
            newestFirst.poll();
            newestFirst.add(entry);
        }
    }

    /** The values kept, oldest first. */
    List<T> oldestFirst() {
        List<Entry<T>> entries = new ArrayList<>(newestFirst);
        entries.sort(OLDEST_FIRST);
        List<T> values = new ArrayList<>(entries.size());
        entries.forEach(e -> values.add(e.value()));
        return values;
    }

    /** How many are kept: never more than the limit. */
    int size() {
        return newestFirst.size();
    }

    private static BigInteger guidOrNull(String msgId) {
        try {
            return EmqxMsgId.decode(msgId);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
