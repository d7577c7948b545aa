package io.mqttdynamo.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.cluster.ReplicaSnapshot;

/** How the replicas' snapshots add up to the cluster's overview. */
class OverviewMergeTest {

    private static final int N = Throughput.SECONDS;

    /** A replica whose rate was {@code rate} in its newest second, which ended at {@code endMillis}. */
    private static ReplicaSnapshot replica(
            String name,
            long endMillis,
            double rate,
            double latency,
            boolean brokerUp,
            int pending,
            String lastError,
            long lastErrorAt) {
        double[] rates = new double[N];
        double[] latencies = new double[N];
        rates[N - 1] = rate;
        latencies[N - 1] = latency;
        return new ReplicaSnapshot(
                name,
                endMillis,
                brokerUp,
                brokerUp ? null : "connection refused",
                true,
                null,
                pending,
                3,
                1,
                lastError,
                lastErrorAt,
                rate / 10,
                latency,
                endMillis,
                rates,
                latencies,
                List.of(),
                new ReplicaSnapshot.Delivery(2, 1, 10, 4, 3),
                null,
                Map.of("mqtt_msg", 5.0));
    }

    @Test
    void seriesAreAddedSecondBySecond() {
        long end = 1_000_000_000L;
        ReplicaSnapshot self = replica("mqtt-dynamo-0", end, 100, 4, true, 5, null, 0);
        // The other replica's snapshot is two seconds old: its newest second is our third newest.
        ReplicaSnapshot other = replica("mqtt-dynamo-1", end - 2_000, 50, 10, true, 7, null, 0);
        Overview overview = Overview.of(3, 9, "broker:1883", List.of(self, other));
        double[] rates = overview.chart().messagesPerSecond();
        assertThat(rates[N - 1]).isEqualTo(100);
        assertThat(rates[N - 3]).isEqualTo(50);
        assertThat(java.util.Arrays.stream(rates).sum()).isEqualTo(150);
        assertThat(overview.chart().writeLatencyMillis()[N - 3]).isEqualTo(10);
        assertThat(overview.chart().endMillis()).isEqualTo(end);
        assertThat(overview.messagesPerSecond()).isEqualTo(15);
        assertThat(overview.writeLatencyMillis())
                .as("weighted by rate")
                .isCloseTo((4 * 10 + 10 * 5) / 15.0, within(1e-9));
        assertThat(overview.pendingWrites()).isEqualTo(12);
        assertThat(overview.unacknowledgedMessages()).isEqualTo(6);
        assertThat(overview.reconnects()).isEqualTo(2);
        assertThat(overview.replicaCount()).isEqualTo(2);
        assertThat(overview.replicas())
                .extracting(Overview.Replica::name)
                .containsExactly("mqtt-dynamo-0", "mqtt-dynamo-1");
        assertThat(overview.replicas().get(0).self()).isTrue();
        assertThat(overview.onlineClients())
                .as("client counts stay this replica's")
                .isEqualTo(3);
        assertThat(overview.knownClients()).isEqualTo(9);
        assertThat(overview.delivery()).isEqualTo(new ReplicaSnapshot.Delivery(4, 2, 20, 8, 6));
        // 5 write units/s of mqtt_msg each; 150 messages in the last minute: 2.5 messages/s, 4 units a message.
        assertThat(overview.writeCost()).singleElement().satisfies(cost -> {
            assertThat(cost.table()).isEqualTo("mqtt_msg");
            assertThat(cost.unitsPerSecond()).isEqualTo(10.0);
            assertThat(cost.unitsPerMessage()).isCloseTo(4.0, within(1e-9));
        });
    }

    @Test
    void aProblemOfAnyReplicaIsTheClustersAndSaysWhich() {
        long end = 2_000_000_000L;
        Overview overview = Overview.of(
                0,
                0,
                "broker:1883",
                List.of(
                        replica("mqtt-dynamo-0", end, 0, 0, true, 0, "throttled", 100),
                        replica("mqtt-dynamo-1", end, 0, 0, false, 0, "access denied", 200)));
        assertThat(overview.brokerUp()).isFalse();
        assertThat(overview.brokerProblem()).isEqualTo("replica mqtt-dynamo-1: connection refused");
        assertThat(overview.dynamoUp()).isTrue();
        assertThat(overview.lastError()).as("the newest").isEqualTo("replica mqtt-dynamo-1: access denied");
        assertThat(overview.replicas().get(1).healthy()).isFalse();
        assertThat(overview.replicas().get(0).healthy()).isTrue();
    }

    @Test
    void refusedWritesAddUpAndTheLatestSaysWhichReplica() {
        long end = 3_000_000_000L;
        ReplicaSnapshot self = withRefusals(
                replica("mqtt-dynamo-0", end, 0, 0, true, 0, null, 0),
                new ReplicaSnapshot.Refusals(2, "KeyLimit on mqtt_retain", 100));
        ReplicaSnapshot other = withRefusals(
                replica("mqtt-dynamo-1", end, 0, 0, true, 0, null, 0),
                new ReplicaSnapshot.Refusals(1, "ValidationException on mqtt_msg", 200));
        ReplicaSnapshot older = replica("mqtt-dynamo-2", end, 0, 0, true, 0, null, 0);
        Overview overview = Overview.of(0, 0, "broker:1883", List.of(self, other, older));
        assertThat(overview.refusals())
                .isEqualTo(
                        new ReplicaSnapshot.Refusals(3, "replica mqtt-dynamo-1: ValidationException on mqtt_msg", 200));
        assertThat(Overview.of(0, 0, "broker:1883", List.of(older)).refusals())
                .isEqualTo(ReplicaSnapshot.Refusals.NONE);
    }

    private static ReplicaSnapshot withRefusals(ReplicaSnapshot s, ReplicaSnapshot.Refusals refusals) {
        return new ReplicaSnapshot(
                s.replica(),
                s.atMillis(),
                s.brokerUp(),
                s.brokerProblem(),
                s.dynamoUp(),
                s.tablesProblem(),
                s.pendingWrites(),
                s.unacknowledgedMessages(),
                s.reconnects(),
                s.lastError(),
                s.lastErrorAtMillis(),
                s.messagesPerSecond(),
                s.writeLatencyMillis(),
                s.chartEndMillis(),
                s.messagesPerSecondSeries(),
                s.writeLatencySeries(),
                s.recent(),
                s.delivery(),
                refusals,
                s.writeUnitsPerSecond());
    }
}
