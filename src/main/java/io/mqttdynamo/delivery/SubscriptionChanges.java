package io.mqttdynamo.delivery;

import java.time.Duration;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongSupplier;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.ItemLimits;

/**
 * The filters each connecting client subscribed to or unsubscribed from since its connect, in the order the
 * broker reported them, so that on_subscribe_lookup does not undo what the client did itself: a restore that
 * read a row the client stored (or is about to drop) after connecting leaves that filter alone.
 *
 * <p>A client is watched from its {@code connected} event until its restore ends; a newer connect of the same
 * client supersedes the watch, and the older restore stops. Bounded: at most {@value #MAX_CLIENTS} clients (the
 * longest-watched is let go first, as is any watched longer than {@link #MAX_AGE}: a connect that was never
 * stored has no restore to end its watch), at most {@value #MAX_FILTERS} filters in all (past that, a watch's
 * every filter counts as changed), and no filter longer than a sort key (no {@code mqtt_sub} row holds one).
 */
final class SubscriptionChanges {

    static final int MAX_CLIENTS = 10_000;
    static final int MAX_FILTERS = 20_000;
    static final Duration MAX_AGE = Duration.ofMinutes(10);

    /** One connect of a client and the filters changed since. */
    static final class Watch {
        private final BrokerEvent.ClientConnected connect;
        private final long startedNanos;
        private final Set<String> changed = new HashSet<>();
        private boolean everyFilter;
        private boolean superseded;

        private Watch(BrokerEvent.ClientConnected connect, long startedNanos) {
            this.connect = connect;
            this.startedNanos = startedNanos;
        }
    }

    private final Map<String, Watch> watches = new LinkedHashMap<>();
    private final LongSupplier nanoTime;
    private int filters;

    SubscriptionChanges() {
        this(System::nanoTime);
    }

    SubscriptionChanges(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** A client connected: what it changes from now on is its own doing; an older connect's watch is superseded. */
    synchronized void connected(BrokerEvent.ClientConnected connect) {
        long now = nanoTime.getAsLong();
        Watch older = watches.remove(connect.clientId());
        if (older != null) {
            older.superseded = true;
            release(older);
        }
        Iterator<Watch> oldest = watches.values().iterator();
        while (oldest.hasNext()) {
            Watch watch = oldest.next();
            if (watches.size() < MAX_CLIENTS && now - watch.startedNanos <= MAX_AGE.toNanos()) {
                break;
            }
            oldest.remove();
            release(watch);
        }
        watches.put(connect.clientId(), new Watch(connect, now));
    }

    /** A client subscribed to or unsubscribed from {@code filter}. */
    synchronized void changed(String clientId, String filter) {
        Watch watch = watches.get(clientId);
        if (watch == null || watch.everyFilter || filter.length() > ItemLimits.SORT_KEY_MAX_BYTES) {
            return;
        }
        if (watch.changed.contains(filter)) {
            return;
        }
        if (filters >= MAX_FILTERS) {
            release(watch);
            watch.everyFilter = true;
            return;
        }
        watch.changed.add(filter);
        filters++;
    }

    /**
     * The watch of this connect; empty when the client has connected again since (its newer connect's restore
     * follows) — or, when it is no longer watched at all, a watch that knows of no change.
     */
    synchronized Optional<Watch> watchOf(BrokerEvent.ClientConnected connect) {
        Watch watch = watches.get(connect.clientId());
        if (watch == null) {
            return Optional.of(new Watch(connect, nanoTime.getAsLong()));
        }
        return watch.connect.equals(connect) ? Optional.of(watch) : Optional.empty();
    }

    /**
     * {@code stored} (filter to QoS) without the filters the client changed since the watch's connect; empty once
     * the client has connected again.
     */
    synchronized Optional<Map<String, Integer>> unchanged(Watch watch, Map<String, Integer> stored) {
        if (watch.superseded) {
            return Optional.empty();
        }
        if (watch.everyFilter) {
            return Optional.of(Map.of());
        }
        Map<String, Integer> unchanged = new LinkedHashMap<>(stored);
        unchanged.keySet().removeAll(watch.changed);
        return Optional.of(unchanged);
    }

    /** The restore of this watch's connect ended. */
    synchronized void done(Watch watch) {
        if (watches.remove(watch.connect.clientId(), watch)) {
            release(watch);
        }
    }

    private void release(Watch watch) {
        filters -= watch.changed.size();
        watch.changed.clear();
    }

    /** Clients watched now. */
    synchronized int watched() {
        return watches.size();
    }
}
