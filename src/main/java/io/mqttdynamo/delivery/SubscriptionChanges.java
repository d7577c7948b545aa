package io.mqttdynamo.delivery;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * The filters each connecting client subscribed to or unsubscribed from since its connect, in the order the
 * broker reported them, so that on_subscribe_lookup never undoes what the client did itself: a restore that
 * read a row the client stored (or was about to drop) after connecting leaves that filter alone.
 *
 * <p>A client is watched from its {@code connected} event until its restore ends. Bounded: at most
 * {@value #MAX_CLIENTS} clients (the longest-watched one is let go first: its restore then knows of no change) and
 * {@value #MAX_FILTERS} filters per client (beyond that every filter counts as changed).
 */
final class SubscriptionChanges {

    static final int MAX_CLIENTS = 10_000;
    static final int MAX_FILTERS = 1_000;

    /** One connect of a client and the filters changed since. */
    static final class Watch {
        private final BrokerEvent.ClientConnected connect;
        private final Set<String> changed = new HashSet<>();
        private boolean overflowed;

        private Watch(BrokerEvent.ClientConnected connect) {
            this.connect = connect;
        }
    }

    private final Map<String, Watch> watches = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Watch> eldest) {
            return size() > MAX_CLIENTS;
        }
    };

    /** A client connected: what it changes from now on is its own doing (a newer connect starts afresh). */
    synchronized void connected(BrokerEvent.ClientConnected connect) {
        watches.put(connect.clientId(), new Watch(connect));
    }

    /** A client subscribed to or unsubscribed from {@code filter}. */
    synchronized void changed(String clientId, String filter) {
        Watch watch = watches.get(clientId);
        if (watch == null || watch.overflowed) {
            return;
        }
        if (watch.changed.size() >= MAX_FILTERS) {
            watch.overflowed = true;
            watch.changed.clear();
        } else {
            watch.changed.add(filter);
        }
    }

    /**
     * The watch of this connect; empty when the client has connected again since (its newer connect's restore
     * follows) — or, when it is no longer watched at all, a watch that knows of no change.
     */
    synchronized Optional<Watch> watchOf(BrokerEvent.ClientConnected connect) {
        Watch watch = watches.get(connect.clientId());
        if (watch == null) {
            return Optional.of(new Watch(connect));
        }
        return watch.connect.equals(connect) ? Optional.of(watch) : Optional.empty();
    }

    /** {@code filters} (filter to QoS) without those the client changed since the watch's connect. */
    synchronized Map<String, Integer> unchanged(Watch watch, Map<String, Integer> filters) {
        if (watch.overflowed) {
            return Map.of();
        }
        Map<String, Integer> unchanged = new LinkedHashMap<>(filters);
        unchanged.keySet().removeAll(watch.changed);
        return unchanged;
    }

    /** The restore of this watch's connect ended. */
    synchronized void done(Watch watch) {
        watches.remove(watch.connect.clientId(), watch);
    }

    /** Clients watched now. */
    synchronized int watched() {
        return watches.size();
    }
}
