package io.mqttdynamo.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.EventTopics;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * Anyone allowed to publish on {@code mqtt-dynamo/cluster/+} can send the view names and snapshots: it keeps a
 * bounded number of replicas, and drops snapshots that are too large or unreadable.
 */
class ClusterViewLimitsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ClusterView view = view(Map.of("mqtt-dynamo.broker.client-id", "self"));

    private ClusterView view(Map<String, String> properties) {
        MqttDynamoConfig config = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withSources(new PropertiesConfigSource(new HashMap<>(properties), "test", 100))
                .build()
                .getConfigMapping(MqttDynamoConfig.class);
        return new ClusterView(
                new BrokerSessions(config, new SimpleMeterRegistry()), JSON, config, new SimpleMeterRegistry());
    }

    static ReplicaSnapshot snapshot(String replica, String lastError) {
        return new ReplicaSnapshot(
                replica,
                1L,
                true,
                null,
                true,
                null,
                0,
                0,
                0,
                lastError,
                0,
                0,
                0,
                0,
                new double[0],
                new double[0],
                List.of(),
                null,
                null,
                null);
    }

    static Mqtt5Publish publish(String replica, byte[] payload) {
        return Mqtt5Publish.builder()
                .topic(EventTopics.CLUSTER_PREFIX + replica)
                .payload(payload)
                .build();
    }

    static Mqtt5Publish publish(ReplicaSnapshot snapshot) throws Exception {
        return publish(snapshot.replica(), JSON.writeValueAsBytes(snapshot));
    }

    private List<String> names() {
        return view.replicas(snapshot("self", null)).stream()
                .map(ReplicaSnapshot::replica)
                .toList();
    }

    @Test
    void aFloodOfNamesKeepsOnlyTheNewestReplicasUpToTheCap() throws Exception {
        for (int i = 0; i < 1_000; i++) {
            view.onSnapshot(publish(snapshot("r" + i, null)));
        }
        List<String> names = names();
        assertThat(names)
                .hasSize(1 + 64)
                .startsWith("self")
                .contains("r999", "r936")
                .doesNotContain("r935", "r0");
    }

    @Test
    void tooLargeAndUnreadableSnapshotsAreDropped() throws Exception {
        view.onSnapshot(publish(snapshot("big", "x".repeat(200 * 1024))));
        view.onSnapshot(publish("garbled", "{not json".getBytes(StandardCharsets.UTF_8)));
        view.onSnapshot(publish("other", JSON.writeValueAsBytes(snapshot("impostor", null))));
        view.onSnapshot(publish(snapshot("fine", "timeout")));
        assertThat(names()).containsExactly("self", "fine");
    }
}
