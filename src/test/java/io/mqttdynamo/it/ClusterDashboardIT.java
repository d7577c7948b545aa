package io.mqttdynamo.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.mqttdynamo.ingest.IngestChannels;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * Two replicas (packaged services) sharing a message stream, each asked for {@code /api/stats}, the page
 * and recent messages: both show the same cluster (two replicas, the messages each of them stored), and
 * a replica that dies is gone from the other's view. The snapshots they exchange are not stored as messages.
 */
class ClusterDashboardIT {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestBed bed;

    @AfterEach
    void stopAll() {
        if (bed != null) {
            bed.close();
        }
    }

    @Test
    void everyReplicaShowsTheWholeCluster() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        bed = TestBed.start();
        int brokerPort = bed.brokerPort;
        String a = "cluster-" + run + "-0";
        String b = "cluster-" + run + "-1";
        // Everything, as raw mode's default does: the replicas' own snapshots come in too, and are not stored.
        PackagedService replicaA = start(a);
        await("A subscribed").atMost(TIMEOUT).until(() -> replicaA.channelConnected(IngestChannels.MESSAGES, a));
        PackagedService replicaB = start(b);
        await("B subscribed").atMost(TIMEOUT).until(() -> replicaB.channelConnected(IngestChannels.MESSAGES, b));

        await("each sees both")
                .atMost(TIMEOUT)
                .until(() -> replicaNames(replicaA).equals(Set.of(a, b))
                        && replicaNames(replicaB).equals(Set.of(a, b)));

        String topic = "cluster-" + run + "/data";
        int messages = 40;
        try (TestMqttClient publisher = TestMqttClient.connect("cluster-pub-" + run, brokerPort)) {
            for (int i = 0; i < messages; i++) {
                publisher.publish(topic, "m" + i, 1, false);
            }
        }
        await("each lists every message, whichever replica stored it")
                .atMost(TIMEOUT)
                .until(() -> recentPayloadsOrIds(replicaA, topic).size() == messages
                        && recentPayloadsOrIds(replicaB, topic).size() == messages);
        // Each chart adds both replicas' rates: its total is the users' messages both took, the test's, once the
        // other's snapshot has come (every 2 s). The snapshots themselves, which both receive through '#', are the
        // service's own traffic and not counted. Each replica alone took about half.
        await("each chart adds both replicas' messages")
                .atMost(Duration.ofSeconds(15))
                .until(() -> sum(stats(replicaA).path("chart").path("messagesPerSecond")) == messages
                        && sum(stats(replicaB).path("chart").path("messagesPerSecond")) == messages);
        JsonNode statsA = stats(replicaA);
        JsonNode statsB = stats(replicaB);
        assertThat(statsA.path("replicaCount").asInt()).isEqualTo(2);
        assertThat(statsB.path("replicaCount").asInt()).isEqualTo(2);
        for (JsonNode replica : statsA.path("replicas")) {
            assertThat(replica.path("healthy").asBoolean())
                    .as(replica.toString())
                    .isTrue();
            assertThat(replica.path("self").asBoolean())
                    .isEqualTo(replica.path("name").asText().equals(a));
        }
        String page = replicaA.get("/").orElseThrow();
        assertThat(page)
                .contains("id=\"replica-count\">2<")
                .contains("data-replica=\"" + b + "\"")
                .contains(a + " (this one)");
        // Both stored some: the stream was shared.
        assertThat(replicaA.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}"))
                .isPositive();
        assertThat(replicaB.metric("mqtt_dynamo_events_received_total{channel=\"messages\"}"))
                .isPositive();
        try (DynamoDbAsyncClient client = CrashRecoveryIT.dynamoClient(bed.dynamo())) {
            assertThat(new TableReader(client).scan("mqtt_retain"))
                    .as("snapshots are not retained messages")
                    .noneMatch(item -> item.get("topic").s().startsWith("mqtt-dynamo/cluster/"));
            assertThat(new TableReader(client).scan("mqtt_msg"))
                    .noneMatch(item -> item.get("topic").s().startsWith("mqtt-dynamo/cluster/"));
        }

        // B dies: its will clears its snapshot, and A's view shrinks to itself.
        replicaB.kill();
        await("B gone from A's view")
                .atMost(Duration.ofSeconds(15))
                .until(() -> replicaNames(replicaA).equals(Set.of(a)));
        assertThat(stats(replicaA).path("replicaCount").asInt()).isEqualTo(1);
    }

    private PackagedService start(String clientId) throws Exception {
        return bed.service(
                bed.environment(clientId, "$share/mqtt-dynamo/#"),
                "cluster-it-" + clientId.substring(clientId.lastIndexOf('-') + 1));
    }

    private static JsonNode stats(PackagedService service) throws Exception {
        return JSON.readTree(service.get("/api/stats").orElseThrow());
    }

    private static Set<String> replicaNames(PackagedService service) {
        try {
            Optional<String> body = service.get("/api/stats");
            if (body.isEmpty() || !body.get().startsWith("{")) {
                return Set.of();
            }
            Set<String> names = new HashSet<>();
            JSON.readTree(body.get())
                    .path("replicas")
                    .forEach(r -> names.add(r.path("name").asText()));
            return names;
        } catch (Exception e) {
            return Set.of();
        }
    }

    private static Set<String> recentPayloadsOrIds(PackagedService service, String topic) {
        try {
            Optional<String> body = service.get("/api/messages?topic="
                    + java.net.URLEncoder.encode(topic, java.nio.charset.StandardCharsets.UTF_8));
            if (body.isEmpty() || !body.get().startsWith("{")) {
                return Set.of();
            }
            Set<String> ids = new HashSet<>();
            JSON.readTree(body.get())
                    .path("recent")
                    .forEach(m -> ids.add(m.path("msgId").asText()));
            return ids;
        } catch (Exception e) {
            return Set.of();
        }
    }

    private static double sum(JsonNode values) {
        double total = 0;
        for (JsonNode v : values) {
            total += v.asDouble();
        }
        return total;
    }
}
