package io.mqttdynamo.ingest;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;

import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquittoResource;
import io.mqttdynamo.support.PrometheusText;
import io.mqttdynamo.support.Readiness;
import io.mqttdynamo.support.TableReader;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * A burst of QoS 1 messages from Mosquitto 2.0.x, which sends more unacknowledged messages than a small
 * receive maximum allows: the channel stays connected and every message is stored once, none twice.
 */
@QuarkusTest
@TestProfile(MosquittoBurstTest.Burst.class)
class MosquittoBurstTest {

    private static final int MESSAGES = 5_000;
    private static final int TOPICS = 50;

    /** Raw mode on a Mosquitto of the test's own without a queue limit; no events, no acks. */
    public static class Burst implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "mqtt-dynamo.broker.client-id", "burst-test",
                    "mqtt-dynamo.events.dialect", "none",
                    "mqtt-dynamo.messages.mode", "raw",
                    "mqtt-dynamo.messages.topic", "burst/#",
                    "mqtt-dynamo.acks.topic", "none");
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(
                    new TestResourceEntry(LocalDynamoDbResource.class),
                    new TestResourceEntry(OwnMosquittoResource.class));
        }
    }

    @Inject
    DynamoDbAsyncClient dynamo;

    @ConfigProperty(name = "mqtt-dynamo.broker.port")
    int brokerPort;

    @Test
    void aBurstIsStoredOnceWithoutReconnecting() throws Exception {
        Readiness.await();
        Mqtt5AsyncClient publisher = MqttClient.builder()
                .useMqttVersion5()
                .identifier("burst-publisher")
                .serverHost("127.0.0.1")
                .serverPort(brokerPort)
                .buildAsync();
        publisher.connect().get(10, TimeUnit.SECONDS);
        Semaphore inFlight = new Semaphore(500);
        CompletableFuture<?>[] sent = new CompletableFuture<?>[MESSAGES];
        for (int i = 0; i < MESSAGES; i++) {
            inFlight.acquire();
            byte[] payload =
                    ("{\"seq\":" + i + ",\"value\":\"" + "x".repeat(150) + "\"}").getBytes(StandardCharsets.UTF_8);
            sent[i] = publisher
                    .publishWith()
                    .topic("burst/sensor/" + (i % TOPICS))
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .payload(payload)
                    .send()
                    .whenComplete((ack, failure) -> inFlight.release());
        }
        CompletableFuture.allOf(sent).get(60, TimeUnit.SECONDS);
        publisher.disconnect();

        TableReader tables = new TableReader(dynamo);
        await("all stored")
                .atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> tables.count("mqtt_msg") >= MESSAGES);
        // Raw mode gives a redelivered message a new msgid: duplicates would show as extra items.
        await("no more arrive")
                .during(Duration.ofSeconds(2))
                .atMost(Duration.ofSeconds(10))
                .until(() -> tables.count("mqtt_msg") == MESSAGES);
        String metrics =
                given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(PrometheusText.value(metrics, "mqtt_dynamo_broker_reconnects_total{channel=\"messages\"}"))
                .isZero();
        assertThat(PrometheusText.value(metrics, "mqtt_dynamo_unacknowledged_messages{channel=\"messages\"}"))
                .isZero();
    }
}
