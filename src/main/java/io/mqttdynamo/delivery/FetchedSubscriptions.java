package io.mqttdynamo.delivery;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The subscriptions whose queued messages were fetched lately, so that a subscription reported twice in one
 * connection is fetched once. EMQX 5's {@code $SYS} events say so themselves ({@code is_new}); its rule engine's
 * {@code session.subscribed} and EMQX 4's events do not, and a client that subscribes right after connecting is
 * reported again when the subscription restore makes the same subscription through the broker's API. A
 * subscription counts as fetched until the client connects again, unsubscribes it, or {@code window} has passed;
 * at most {@code capacity} are remembered (the oldest are forgotten first: a forgotten one may be fetched again,
 * never lost).
 */
final class FetchedSubscriptions {

    private final long windowMillis;
    private final int capacity;
    /** Client id and filter, in the order they were fetched, to the time of the fetch. */
    private final LinkedHashMap<Key, Long> fetched = new LinkedHashMap<>();

    private record Key(String clientId, String filter) {}

    FetchedSubscriptions(long windowMillis, int capacity) {
        this.windowMillis = windowMillis;
        this.capacity = capacity;
    }

    /**
     * Whether the subscription is to be fetched now: true the first time in a connection and window, after which
     * it is remembered as fetched.
     */
    synchronized boolean first(String clientId, String filter, long nowMillis) {
        expire(nowMillis);
        Key key = new Key(clientId, filter);
        if (fetched.containsKey(key)) {
            return false;
        }
        fetched.put(key, nowMillis);
        if (fetched.size() > capacity) {
            Iterator<Long> oldest = fetched.values().iterator();
            oldest.next();
            oldest.remove();
        }
        return true;
    }

    /** A new connection of the client: its next subscriptions are new ones. */
    synchronized void connected(String clientId) {
        fetched.keySet().removeIf(key -> key.clientId().equals(clientId));
    }

    /** The client dropped the subscription: subscribing again is a new subscription. */
    synchronized void unsubscribed(String clientId, String filter) {
        fetched.remove(new Key(clientId, filter));
    }

    synchronized int size() {
        return fetched.size();
    }

    private void expire(long nowMillis) {
        Iterator<Map.Entry<Key, Long>> entries = fetched.entrySet().iterator();
        while (entries.hasNext() && entries.next().getValue() <= nowMillis - windowMillis) {
            entries.remove();
        }
    }
}
