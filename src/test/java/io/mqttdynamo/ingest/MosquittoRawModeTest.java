package io.mqttdynamo.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.support.MosquittoProfile;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.QueueFetchMosquittoProfile;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * Raw mode against a real Mosquitto: messages through a {@code $share} subscription (MQTT 5, so the
 * retain flag is the publisher's), the seed's hook syntax choosing topics, the seed's connection settings,
 * and per-client ordering of connect / disconnect events. Runs in the queue-fetch set-up, {@link MosquittoProfile}
 * with on_message_fetch_for_queue added (one application for both): nothing here reports a subscription.
 */
@QuarkusTest
@TestProfile(QueueFetchMosquittoProfile.class)
class MosquittoRawModeTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @Inject
    DynamoDbAsyncClient dynamo;

    @Inject
    Config config;

    TableReader tables;
    String data;
    String run;

    @BeforeEach
    void setUp() {
        Readiness.await();
        tables = new TableReader(dynamo);
        run = UUID.randomUUID().toString().substring(0, 8);
        data = MosquittoProfile.prefix() + "/data";
    }

    @Test
    void rawMessagesArriveThroughASharedSubscription() {
        String topic = data + "/stored/" + run;
        long before = System.currentTimeMillis();
        try (TestMqttClient publisher = TestMqttClient.connect("raw-pub-" + run, MosquittoProfile.PORT)) {
            publisher.publish(topic, "raw payload", 1, false);
        }
        String msgId = await().atMost(TIMEOUT)
                .until(() -> tables.topicMsgIds(topic), ids -> !ids.isEmpty())
                .get(0);
        Map<String, AttributeValue> message = await().atMost(TIMEOUT)
                .until(() -> tables.item("mqtt_msg", "msgid", msgId).orElse(null), i -> i != null);
        assertThat(message.keySet())
                .containsExactlyInAnyOrder("msgid", "topic", "qos", "sender", "retain", "arrived", "payload");
        assertThat(message.get("payload").s()).isEqualTo("raw payload");
        assertThat(message.get("sender").s())
                .as("a raw subscription cannot know the sender")
                .isEmpty();
        assertThat(message.get("retain").n()).isEqualTo("0");
        assertThat(Long.parseLong(message.get("arrived").n()))
                .as("milliseconds")
                .isBetween(before, System.currentTimeMillis());
    }

    @Test
    void theSeedsHookTopicsDecideWhatIsStored() {
        String other = data + "/other/" + run;
        String stored = data + "/stored/marker-" + run;
        try (TestMqttClient publisher = TestMqttClient.connect("raw-hook-" + run, MosquittoProfile.PORT)) {
            publisher.publish(other, "not for on_message_publish", 1, false);
            publisher.publish(stored, "for on_message_publish", 1, false);
        }
        await().atMost(TIMEOUT).until(() -> !tables.topicMsgIds(stored).isEmpty());
        assertThat(tables.topicMsgIds(other)).isEmpty();
    }

    @Test
    void retainedMessagesKeepThePublishersRetainFlag() {
        String topic = data + "/other/retained-" + run;
        try (TestMqttClient publisher = TestMqttClient.connect("raw-ret-" + run, MosquittoProfile.PORT)) {
            publisher.publish(topic, "last value", 1, true);
            Map<String, AttributeValue> retained = await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", topic).orElse(null), i -> i != null);
            assertThat(retained.get("retain").n()).isEqualTo("1");
            assertThat(retained.get("payload").s()).isEqualTo("last value");
            publisher.publish(topic, new byte[0], 1, true);
            await().atMost(TIMEOUT)
                    .until(() -> tables.item("mqtt_retain", "topic", topic).isEmpty());
        }
    }

    @Test
    void aLateConnectedNeverOverwritesANewerDisconnected() {
        String clientId = "late-" + run;
        String events = MosquittoProfile.prefix() + "/sys/brokers/emqx@node1/clients/" + clientId + "/";
        long t0 = System.currentTimeMillis() - 60_000;
        try (TestMqttClient broker = TestMqttClient.connect("fake-emqx-" + run, MosquittoProfile.PORT)) {
            broker.publish(events + "connected", clientEvent(clientId, t0), 1, false);
            await().atMost(TIMEOUT).until(() -> state(clientId), s -> "1".equals(s));
            broker.publish(events + "disconnected", clientEvent(clientId, t0 + 2000), 1, false);
            await().atMost(TIMEOUT).until(() -> state(clientId), s -> "0".equals(s));

            double staleBefore = staleUpdates();
            broker.publish(events + "connected", clientEvent(clientId, t0 + 1000), 1, false);
            await().atMost(TIMEOUT).until(() -> staleUpdates() > staleBefore);
            Map<String, AttributeValue> row =
                    tables.item("mqtt_client", "clientid", clientId).orElseThrow();
            assertThat(row.get("connect_state").n()).isEqualTo("0");
            assertThat(row.get("online_at").n()).isEqualTo(Long.toString(t0));
            assertThat(row.get("offline_at").n()).isEqualTo(Long.toString(t0 + 2000));
            assertThat(row.get("node").s()).isEqualTo("emqx@node1");

            broker.publish(events + "connected", clientEvent(clientId, t0 + 3000), 1, false);
            await().atMost(TIMEOUT).until(() -> state(clientId), s -> "1".equals(s));
            assertThat(tables.item("mqtt_client", "clientid", clientId)
                            .orElseThrow()
                            .get("offline_at")
                            .n())
                    .isEqualTo("0");
        }
    }

    @Test
    void theSeedsConnectionSettingsConfigureTheDynamoDbClient() {
        assertThat(config.getValue("quarkus.dynamodb.aws.region", String.class)).isEqualTo("eu-west-1");
        assertThat(config.getValue("quarkus.dynamodb.aws.credentials.type", String.class))
                .isEqualTo("static");
        assertThat(config.getValue("quarkus.dynamodb.aws.credentials.static-provider.access-key-id", String.class))
                .isEqualTo("seed-key-id");
        assertThat(config.getValue("quarkus.dynamodb.async-client.max-concurrency", Integer.class))
                .isEqualTo(8);
        assertThat(config.getValue("quarkus.dynamodb.endpoint-override", String.class))
                .isEqualTo(config.getValue("backend.dynamo.pool1.server", String.class));
    }

    private String state(String clientId) {
        return tables.item("mqtt_client", "clientid", clientId)
                .map(i -> i.get("connect_state").n())
                .orElse(null);
    }

    private static String clientEvent(String clientId, long ts) {
        return "{\"clientid\":\"" + clientId + "\",\"username\":\"u\",\"ts\":" + ts + "}";
    }

    private static double staleUpdates() {
        return PrometheusText.value(given().get("/q/metrics").asString(), "mqtt_dynamo_stale_updates_total");
    }
}
