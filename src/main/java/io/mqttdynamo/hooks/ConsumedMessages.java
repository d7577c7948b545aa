package io.mqttdynamo.hooks;

import java.util.LinkedHashMap;
import java.util.Map;

/** The msgids this replica took an acknowledgement of, the most recent {@value #CAPACITY}. */
final class ConsumedMessages {

    static final int CAPACITY = 10_000;

    private final Map<String, Boolean> acked = new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > CAPACITY;
        }
    };

    /**
     * An acknowledgement of {@code msgId} was taken; true when it is the first this replica took (a later one,
     * another subscriber's, needs no mark of its own, see {@link EarlyAcks}).
     */
    synchronized boolean acked(String msgId) {
        return acked.put(msgId, Boolean.TRUE) == null;
    }

    /** Without marks ({@code acks.early-acks-per-topic=0}): a message acknowledged here is not stored afterwards. */
    synchronized boolean wasAcked(String msgId) {
        return acked.containsKey(msgId);
    }
}
