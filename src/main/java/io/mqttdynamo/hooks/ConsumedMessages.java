package io.mqttdynamo.hooks;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The msgids this replica took an acknowledgement of, most recent {@value #CAPACITY} kept: a later ack of the
 * same message (another subscriber's) needs no mark of its own (see {@link EarlyAcks}), and without marks
 * ({@code acks.early-acks-per-topic=0}) a message whose ack came first is not stored here afterwards.
 */
final class ConsumedMessages {

    static final int CAPACITY = 10_000;

    private final Map<String, Boolean> acked = new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > CAPACITY;
        }
    };

    /** An acknowledgement of {@code msgId} was taken; true when it is the first this replica took. */
    synchronized boolean acked(String msgId) {
        return acked.put(msgId, Boolean.TRUE) == null;
    }

    synchronized boolean wasAcked(String msgId) {
        return acked.containsKey(msgId);
    }
}
