package io.mqttdynamo.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

/** What the cluster view keeps of what it hears: bounded in names, age and size. */
class HeardReplicasTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long EXPIRY = TimeUnit.SECONDS.toNanos(10);
    private final HeardReplicas heard = new HeardReplicas(JSON, 3, EXPIRY);

    private static byte[] snapshot(String replica) throws Exception {
        return JSON.writeValueAsBytes(ClusterViewLimitsTest.snapshot(replica, null));
    }

    private java.util.List<String> names(long now) {
        return heard.live("self", now).stream().map(ReplicaSnapshot::replica).toList();
    }

    @Test
    void pastTheCapTheReplicaHeardFromLongestAgoGoes() throws Exception {
        for (String name : new String[] {"a", "b", "c"}) {
            assertThat(heard.offer(name, snapshot(name), 0)).isEqualTo(HeardReplicas.Outcome.KEPT);
        }
        heard.offer("a", snapshot("a"), 1);
        heard.offer("d", snapshot("d"), 2);
        assertThat(names(3)).containsExactly("c", "a", "d");
    }

    @Test
    void namesNotHeardOfWithinTheExpiryGoWhenAnythingIsHeardNotOnlyWhenTheViewIsRead() throws Exception {
        heard.offer("a", snapshot("a"), 0);
        heard.offer("b", snapshot("b"), EXPIRY / 2);
        heard.offer("c", new byte[0], EXPIRY + 1);
        assertThat(heard.size()).isEqualTo(1);
        heard.expire(2 * EXPIRY);
        assertThat(heard.size()).isZero();
    }

    /** What mqtt_dynamo_cluster_replicas counts besides the replica itself: the others heard within the expiry. */
    @Test
    void theLiveCountLeavesOutThisReplicaAndThoseNotHeardOfWithinTheExpiry() throws Exception {
        heard.offer("self", snapshot("self"), 0);
        heard.offer("a", snapshot("a"), 0);
        heard.offer("b", snapshot("b"), EXPIRY / 2);
        assertThat(heard.liveCount("self", EXPIRY / 2)).isEqualTo(2);
        assertThat(heard.liveCount("self", EXPIRY + 1)).isEqualTo(1);
        assertThat(heard.liveCount("self", 2 * EXPIRY)).isZero();
    }

    @Test
    void anEmptyMessageClearsAReplicaAndBadOnesAreDropped() throws Exception {
        heard.offer("a", snapshot("a"), 0);
        assertThat(heard.offer("a", new byte[0], 1)).isEqualTo(HeardReplicas.Outcome.CLEARED);
        assertThat(heard.offer("x", new byte[HeardReplicas.MAX_SNAPSHOT_BYTES + 1], 1))
                .isEqualTo(HeardReplicas.Outcome.TOO_LARGE);
        assertThat(heard.offer("x", "[1,2".getBytes(StandardCharsets.UTF_8), 1))
                .isEqualTo(HeardReplicas.Outcome.UNREADABLE);
        assertThat(heard.offer("x", "null".getBytes(StandardCharsets.UTF_8), 1))
                .isEqualTo(HeardReplicas.Outcome.OTHER_NAME);
        assertThat(heard.offer("x", snapshot("y"), 1)).isEqualTo(HeardReplicas.Outcome.OTHER_NAME);
        assertThat(heard.size()).isZero();
        heard.offer("self", snapshot("self"), 1);
        assertThat(names(2)).isEmpty();
    }
}
