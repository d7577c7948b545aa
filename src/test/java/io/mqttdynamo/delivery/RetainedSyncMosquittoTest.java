package io.mqttdynamo.delivery;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.hivemq.client.mqtt.exceptions.ConnectionClosedException;
import com.hivemq.client.mqtt.exceptions.ConnectionFailedException;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.broker.RetainedBrokerClient;
import io.mqttdynamo.broker.RetainedBrokerClient.Retained;
import io.mqttdynamo.store.Tables;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestMqttClient;
import io.mqttdynamo.support.TestTables;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * on_retain_lookup at start-up against a Mosquitto the test starts (a broker not written for the service):
 * before the service starts, the broker retains messages mqtt_retain lacks and mqtt_retain holds rows the
 * broker lacks; the broker has no session of the service, so once started both are in step.
 */
@QuarkusTest
@TestProfile(RetainedSyncMosquittoTest.BothSidesDrifted.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RetainedSyncMosquittoTest {

    /** The seeded Mosquitto's process id, for the test that restarts it (the resource runs in another class loader). */
    private static final String MOSQUITTO_PID = "retained-test.mosquitto.pid";

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int ON_BROKER = 150;
    private static final String TABLE_ONLY = "drift/table-only/";
    private static final int IN_TABLE = 3;

    /** Raw mode on the seeded Mosquitto; no events, no acks. */
    public static class BothSidesDrifted implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "mqtt-dynamo.broker.client-id", "retained-start-test",
                    "mqtt-dynamo.events.dialect", "none",
                    "mqtt-dynamo.messages.mode", "raw",
                    // Shared: a shared subscription gets no retained messages, so only the comparison stores them.
                    "mqtt-dynamo.messages.topic", "$share/retained-test/drift/#",
                    "mqtt-dynamo.acks.topic", "none",
                    // A small window: the broker's 150 retained messages come through it in turns, or, when
                    // Mosquitto 2.0.x overruns it, are read again through the widest.
                    "mqtt-dynamo.broker.receive-maximum", "20",
                    "mqtt-dynamo.retained.check-batch", "4");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(DriftedResource.class));
        }
    }

    /**
     * A local DynamoDB whose mqtt_retain holds rows Mosquitto lacks, and a Mosquitto of its own retaining
     * messages the table lacks, both made before the service starts.
     */
    public static class DriftedResource extends LocalDynamoDbResource {

        private Process mosquitto;

        @Override
        public Map<String, String> start() {
            Map<String, String> config = new HashMap<>(super.start());
            try (DynamoDbAsyncClient dynamo = DynamoDbAsyncClient.builder()
                    .endpointOverride(URI.create(config.get("quarkus.dynamodb.endpoint-override")))
                    .region(Region.US_WEST_2)
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                    .build()) {
                // Returns once the table is ACTIVE: before, it refuses writes (ResourceNotFoundException).
                TestTables.create(dynamo, Tables.RETAIN);
                for (int i = 0; i < IN_TABLE; i++) {
                    Map<String, AttributeValue> row = tableRow(i);
                    dynamo.putItem(b -> b.tableName("mqtt_retain").item(row)).get(10, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new IllegalStateException("cannot seed mqtt_retain: " + e.getMessage(), e);
            }
            int port = LocalDynamoDbResource.freePort();
            try {
                mosquitto = OwnMosquitto.start(port);
                System.setProperty(MOSQUITTO_PID, Long.toString(mosquitto.pid()));
            } catch (IOException e) {
                throw new IllegalStateException("cannot start mosquitto: " + e.getMessage(), e);
            }
            try (TestMqttClient publisher = TestMqttClient.connect("drift-seed", port)) {
                for (int i = 0; i < ON_BROKER; i++) {
                    // Every QoS: QoS 0 retained messages are not held back by the receive maximum, QoS 2 ones
                    // are stored as QoS 2.
                    publisher.publish("drift/broker-only/" + i, "kept by the broker " + i, i % 3, true);
                }
            }
            config.put("mqtt-dynamo.broker.host", "127.0.0.1");
            config.put("mqtt-dynamo.broker.port", Integer.toString(port));
            return config;
        }

        private static Map<String, AttributeValue> tableRow(int i) {
            return Map.of(
                    "topic",
                    AttributeValue.fromS(TABLE_ONLY + i),
                    "msgid",
                    AttributeValue.fromS("row" + i),
                    "qos",
                    AttributeValue.fromN("1"),
                    "sender",
                    AttributeValue.fromS("earlier"),
                    "retain",
                    AttributeValue.fromN("1"),
                    "arrived",
                    AttributeValue.fromN("1700000000"),
                    "payload",
                    AttributeValue.fromS("kept by the table " + i));
        }

        @Override
        public void stop() {
            if (mosquitto != null) {
                mosquitto.destroyForcibly();
            }
            super.stop();
        }
    }

    @Inject
    DynamoDbAsyncClient dynamo;

    @ConfigProperty(name = "mqtt-dynamo.broker.port")
    int brokerPort;

    @Inject
    RetainedBrokerClient retainedClient;

    /**
     * A row the collection did not see (a broker drops what exceeds a session's queue, or the topic was
     * retained meanwhile) is not put back over what the broker holds: the broker is asked first, in groups;
     * a topic that cannot be asked about as a plain filter is left alone too.
     */
    @Test
    @Order(2)
    void aRowIsNotRepublishedOverWhatTheBrokerRetains() {
        Readiness.await();
        // After the start-up run, whose counts the other test checks.
        await().atMost(TIMEOUT)
                .until(
                        () -> given().get("/api/retained/restore")
                                .then()
                                .extract()
                                .jsonPath()
                                .getString("phase"),
                        phase -> phase.equals("done") || phase.equals("failed"));
        List<Retained> rows = new ArrayList<>();
        try (TestMqttClient publisher = TestMqttClient.connect("verify-seed", brokerPort)) {
            for (int i = 0; i < 10; i++) {
                if (i % 3 == 0) {
                    publisher.publish("drift/verify/" + i, "the broker's newer value", 1, true);
                }
                rows.add(new Retained(
                        "drift/verify/" + i, "the table's value".getBytes(StandardCharsets.UTF_8), 1, "row" + i));
            }
        }
        rows.add(5, new Retained("$share/group/drift/verify/x", "v".getBytes(StandardCharsets.UTF_8), 1, "rowX"));
        List<Retained> sent = new CopyOnWriteArrayList<>();
        List<Retained> kept = new CopyOnWriteArrayList<>();
        // Groups of 4 (retained.check-batch in the profile): held topics in the first, second and third.
        int republished = retainedClient
                .republish(
                        Multi.createFrom().iterable(rows),
                        1000,
                        4,
                        group -> Uni.createFrom().item(group),
                        sent::add,
                        kept::add)
                .await()
                .atMost(TIMEOUT);
        assertThat(sent)
                .extracting(Retained::topic)
                .containsExactly(
                        "drift/verify/1",
                        "drift/verify/2",
                        "drift/verify/4",
                        "drift/verify/5",
                        "drift/verify/7",
                        "drift/verify/8");
        assertThat(kept)
                .extracting(Retained::topic)
                .containsExactlyInAnyOrder(
                        "drift/verify/0",
                        "drift/verify/3",
                        "$share/group/drift/verify/x",
                        "drift/verify/6",
                        "drift/verify/9");
        assertThat(republished).isEqualTo(6);
        try (TestMqttClient subscriber = TestMqttClient.connect("verify-fresh", brokerPort)) {
            subscriber.subscribe("drift/verify/#", 1);
            await().atMost(TIMEOUT).until(() -> subscriber.received().size() == 10);
            assertThat(subscriber.received())
                    .allSatisfy(p -> assertThat(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8))
                            .isEqualTo(
                                    Integer.parseInt(p.getTopic().getLevels().get(2)) % 3 == 0
                                            ? "the broker's newer value"
                                            : "the table's value"));
        }
    }

    @Test
    @Order(1)
    void atStartTheTableGetsTheBrokersRetainedMessagesAndTheBrokerTheTablesRows() {
        Readiness.await();
        TableReader tables = new TableReader(dynamo);

        JsonPath progress = await("the start-up run")
                .atMost(TIMEOUT)
                .until(
                        () -> given().get("/api/retained/restore")
                                .then()
                                .statusCode(200)
                                .extract()
                                .jsonPath(),
                        p -> p.getString("phase").equals("done")
                                || p.getString("phase").equals("failed"));
        assertThat(progress.getString("error")).isNull();
        assertThat(progress.getInt("brokerRetained")).isEqualTo(ON_BROKER);
        assertThat(progress.getInt("stored")).isEqualTo(ON_BROKER);
        assertThat(progress.getInt("republished")).isEqualTo(IN_TABLE);
        assertThat(progress.getInt("passedOver")).isZero();

        for (int i = 0; i < ON_BROKER; i++) {
            Map<String, AttributeValue> row = tables.item("mqtt_retain", "topic", "drift/broker-only/" + i)
                    .orElseThrow(() -> new AssertionError("a broker's retained message is not in mqtt_retain"));
            assertThat(row.get("payload").s()).isEqualTo("kept by the broker " + i);
            assertThat(row.get("qos").n()).isEqualTo(Integer.toString(i % 3));
        }

        try (TestMqttClient subscriber = TestMqttClient.connect("drift-fresh", brokerPort)) {
            subscriber.subscribe(TABLE_ONLY + "#", 1);
            await("the table's rows retained by the broker")
                    .atMost(TIMEOUT)
                    .until(() -> subscriber.received().size() == IN_TABLE);
            for (Mqtt5Publish publish : subscriber.received()) {
                assertThat(publish.isRetain()).isTrue();
                String i = publish.getTopic().toString().substring(TABLE_ONLY.length());
                assertThat(new String(publish.getPayloadAsBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("kept by the table " + i);
                assertThat(publish.getUserProperties().asList()).anySatisfy(p -> {
                    assertThat(p.getName().toString()).isEqualTo("mqtt-dynamo-republished");
                    assertThat(p.getValue().toString()).isEqualTo("row" + i);
                });
            }
        }
        String metrics =
                given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(io.mqttdynamo.support.PrometheusText.value(
                        metrics, "mqtt_dynamo_retained_synced_total{direction=\"republished\"}"))
                .isEqualTo(IN_TABLE);
    }

    /**
     * A broker restarted without persistence while the service runs: the service finds its sessions gone on
     * reconnecting and puts mqtt_retain's rows back on the broker, without a restart of its own.
     */
    @Test
    @Order(3)
    void aBrokerThatCameBackWithoutItsRetainedMessagesGetsThemBackWhileTheServiceRuns() throws IOException {
        Readiness.await();
        await().atMost(TIMEOUT)
                .until(
                        () -> given().get("/api/retained/restore")
                                .then()
                                .extract()
                                .jsonPath()
                                .getString("phase"),
                        phase -> phase.equals("done") || phase.equals("failed"));
        ProcessHandle.of(Long.parseLong(System.getProperty(MOSQUITTO_PID))).ifPresent(ProcessHandle::destroyForcibly);
        Process restarted = OwnMosquitto.start(brokerPort);
        try {
            await("the table's rows retained again")
                    .atMost(Duration.ofSeconds(60))
                    .until(() -> {
                        try (TestMqttClient subscriber = TestMqttClient.connect("restarted-check", brokerPort)) {
                            subscriber.subscribe(TABLE_ONLY + "#", 1);
                            await().atMost(Duration.ofSeconds(2))
                                    .until(() -> subscriber.received().size() == IN_TABLE);
                            return true;
                        } catch (org.awaitility.core.ConditionTimeoutException
                                | ConnectionClosedException
                                | ConnectionFailedException e) {
                            // Not yet: the restarted broker may still refuse or drop a connection.
                            return false;
                        }
                    });
        } finally {
            restarted.destroyForcibly();
        }
    }
}
