package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.ItemLimits;

class SubscriptionChangesTest {

    private final AtomicLong now = new AtomicLong();
    private final SubscriptionChanges changes = new SubscriptionChanges(now::get);

    private static BrokerEvent.ClientConnected connect(String clientId, long at) {
        return new BrokerEvent.ClientConnected(clientId, "node", "user", at);
    }

    private static Map<String, Integer> stored(String... filters) {
        Map<String, Integer> stored = new LinkedHashMap<>();
        for (String filter : filters) {
            stored.put(filter, 1);
        }
        return stored;
    }

    private Map<String, Integer> unchanged(BrokerEvent.ClientConnected connect, String... filters) {
        return changes.unchanged(changes.watchOf(connect).orElseThrow(), stored(filters))
                .orElseThrow();
    }

    @Test
    void filtersChangedSinceTheConnectAreLeftOut() {
        BrokerEvent.ClientConnected connect = connect("c", 1);
        changes.changed("c", "before/connect");
        changes.connected(connect);
        changes.changed("c", "a");
        changes.changed("other", "b");
        assertThat(unchanged(connect, "a", "b", "before/connect")).containsOnlyKeys("b", "before/connect");
    }

    @Test
    void anOlderConnectWhoseClientConnectedAgainHasNoWatch() {
        BrokerEvent.ClientConnected first = connect("c", 1);
        BrokerEvent.ClientConnected second = connect("c", 2);
        changes.connected(first);
        changes.connected(second);
        assertThat(changes.watchOf(first)).isEmpty();
        assertThat(changes.watchOf(second)).isPresent();
    }

    @Test
    void aRestoreUnderWayStopsWhenItsClientConnectsAgain() {
        BrokerEvent.ClientConnected first = connect("c", 1);
        changes.connected(first);
        SubscriptionChanges.Watch firstWatch = changes.watchOf(first).orElseThrow();
        assertThat(changes.unchanged(firstWatch, stored("a"))).contains(stored("a"));
        changes.connected(connect("c", 2));
        changes.changed("c", "a");
        assertThat(changes.unchanged(firstWatch, stored("a"))).isEmpty();
    }

    @Test
    void theEndOfAnOlderRestoreLeavesTheNewerConnectWatched() {
        BrokerEvent.ClientConnected first = connect("c", 1);
        changes.connected(first);
        SubscriptionChanges.Watch firstWatch = changes.watchOf(first).orElseThrow();
        BrokerEvent.ClientConnected second = connect("c", 2);
        changes.connected(second);
        changes.changed("c", "a");
        changes.done(firstWatch);
        SubscriptionChanges.Watch secondWatch = changes.watchOf(second).orElseThrow();
        assertThat(changes.unchanged(secondWatch, stored("a", "b")).orElseThrow())
                .containsOnlyKeys("b");
        changes.done(secondWatch);
        assertThat(changes.watched()).isZero();
    }

    @Test
    void beyondTheClientCapTheLongestWatchedIsLetGoAndRestoresEverything() {
        BrokerEvent.ClientConnected oldest = connect("oldest", 1);
        changes.connected(oldest);
        changes.changed("oldest", "a");
        BrokerEvent.ClientConnected again = connect("again", 1);
        changes.connected(again);
        for (int i = 0; i < SubscriptionChanges.MAX_CLIENTS - 2; i++) {
            changes.connected(connect("client-" + i, 1));
        }
        // A reconnect moves a client to the newest end.
        changes.connected(connect("again", 2));
        changes.connected(connect("one-more", 1));
        assertThat(changes.watched()).isEqualTo(SubscriptionChanges.MAX_CLIENTS);
        assertThat(unchanged(oldest, "a", "b")).containsOnlyKeys("a", "b");
        assertThat(changes.watchOf(connect("again", 2))).isPresent();
    }

    @Test
    void aWatchOlderThanTheMaximumAgeIsLetGo() {
        BrokerEvent.ClientConnected neverStored = connect("never-stored", 1);
        changes.connected(neverStored);
        changes.changed("never-stored", "a");
        now.addAndGet(SubscriptionChanges.MAX_AGE.toNanos() + 1);
        changes.connected(connect("later", 1));
        assertThat(changes.watched()).isEqualTo(1);
        assertThat(unchanged(neverStored, "a")).containsOnlyKeys("a");
    }

    @Test
    void beyondTheFilterCapEveryFilterOfTheWatchCountsAsChanged() {
        BrokerEvent.ClientConnected busy = connect("busy", 1);
        changes.connected(busy);
        for (int i = 0; i < SubscriptionChanges.MAX_FILTERS; i++) {
            changes.changed("busy", "f/" + i);
        }
        changes.changed("busy", "f/0");
        assertThat(unchanged(busy, "never/seen")).containsOnlyKeys("never/seen");
        BrokerEvent.ClientConnected other = connect("other", 1);
        changes.connected(other);
        changes.changed("other", "x");
        assertThat(unchanged(other, "never/seen", "x")).isEmpty();
        changes.done(changes.watchOf(busy).orElseThrow());
        BrokerEvent.ClientConnected third = connect("third", 1);
        changes.connected(third);
        changes.changed("third", "x");
        assertThat(unchanged(third, "never/seen", "x")).containsOnlyKeys("never/seen");
    }

    @Test
    void aFilterLongerThanASortKeyIsNotKept() {
        BrokerEvent.ClientConnected connect = connect("c", 1);
        changes.connected(connect);
        String tooLong = "t".repeat(ItemLimits.SORT_KEY_MAX_BYTES + 1);
        changes.changed("c", tooLong);
        assertThat(unchanged(connect, tooLong)).containsOnlyKeys(tooLong);
    }
}
