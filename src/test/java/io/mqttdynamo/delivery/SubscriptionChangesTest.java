package io.mqttdynamo.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.BrokerEvent;

class SubscriptionChangesTest {

    private final SubscriptionChanges changes = new SubscriptionChanges();

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

    @Test
    void filtersChangedSinceTheConnectAreLeftOut() {
        BrokerEvent.ClientConnected connect = connect("c", 1);
        changes.changed("c", "before/connect");
        changes.connected(connect);
        changes.changed("c", "a");
        changes.changed("other", "b");
        SubscriptionChanges.Watch watch = changes.watchOf(connect).orElseThrow();
        assertThat(changes.unchanged(watch, stored("a", "b", "before/connect")))
                .containsOnlyKeys("b", "before/connect");
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
    void theEndOfAnOlderRestoreLeavesTheNewerConnectWatched() {
        BrokerEvent.ClientConnected first = connect("c", 1);
        changes.connected(first);
        SubscriptionChanges.Watch firstWatch = changes.watchOf(first).orElseThrow();
        BrokerEvent.ClientConnected second = connect("c", 2);
        changes.connected(second);
        changes.changed("c", "a");
        changes.done(firstWatch);
        SubscriptionChanges.Watch secondWatch = changes.watchOf(second).orElseThrow();
        assertThat(changes.unchanged(secondWatch, stored("a", "b"))).containsOnlyKeys("b");
        changes.done(secondWatch);
        assertThat(changes.watched()).isZero();
    }

    @Test
    void aClientNoLongerWatchedRestoresEverything() {
        BrokerEvent.ClientConnected oldest = connect("oldest", 1);
        changes.connected(oldest);
        changes.changed("oldest", "a");
        for (int i = 0; i < SubscriptionChanges.MAX_CLIENTS; i++) {
            changes.connected(connect("client-" + i, 1));
        }
        assertThat(changes.watched()).isEqualTo(SubscriptionChanges.MAX_CLIENTS);
        SubscriptionChanges.Watch watch = changes.watchOf(oldest).orElseThrow();
        assertThat(changes.unchanged(watch, stored("a", "b"))).containsOnlyKeys("a", "b");
    }

    @Test
    void beyondTheFilterCapEveryFilterCountsAsChanged() {
        BrokerEvent.ClientConnected connect = connect("c", 1);
        changes.connected(connect);
        for (int i = 0; i <= SubscriptionChanges.MAX_FILTERS; i++) {
            changes.changed("c", "f/" + i);
        }
        SubscriptionChanges.Watch watch = changes.watchOf(connect).orElseThrow();
        assertThat(changes.unchanged(watch, stored("never/seen"))).isEmpty();
    }
}
