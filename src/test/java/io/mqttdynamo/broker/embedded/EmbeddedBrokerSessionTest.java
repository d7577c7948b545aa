package io.mqttdynamo.broker.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3BlockingClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;

import io.mqttdynamo.support.TestMqttClient;
import io.vertx.core.Vertx;

/**
 * Persistent sessions of the embedded broker end when they expire, and hold a bounded number of messages; stored
 * messages delivered from other threads reach a client that acknowledges them meanwhile.
 */
class EmbeddedBrokerSessionTest {

    private static final int MAX_QUEUED = 5;

    private Vertx vertx;
    private EmbeddedBroker broker;
    private int port;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        broker = new EmbeddedBroker("test@127.0.0.1", true, Duration.ofSeconds(30), Duration.ofSeconds(1), MAX_QUEUED);
        port = broker.start(vertx, "127.0.0.1", 0)
                .toCompletionStage()
                .toCompletableFuture()
                .get();
    }

    @AfterEach
    void stop() throws Exception {
        broker.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private Mqtt5BlockingClient mqtt5(String clientId) {
        return MqttClient.builder()
                .useMqttVersion5()
                .identifier(clientId)
                .serverHost("127.0.0.1")
                .serverPort(port)
                .buildBlocking();
    }

    @Test
    void anMqtt5SessionEndsAfterItsExpiryInterval() {
        String id = "expiring-" + UUID.randomUUID();
        Mqtt5BlockingClient client = mqtt5(id);
        client.connectWith().cleanStart(true).sessionExpiryInterval(1).send();
        client.subscribeWith().topicFilter("t/" + id).qos(MqttQos.AT_LEAST_ONCE).send();
        client.disconnect();
        int held = broker.sessionCount();
        assertThat(held).isPositive();
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.sessionCount() == held - 1);
        // and coming back finds no session
        assertThat(client.connectWith()
                        .cleanStart(false)
                        .sessionExpiryInterval(1)
                        .send()
                        .isSessionPresent())
                .isFalse();
        client.disconnect();
    }

    @Test
    void anMqtt5SessionAskingForNeverIsKeptForTheBrokersMaximumOnly() {
        String id = "forever-" + UUID.randomUUID();
        Mqtt5BlockingClient client = mqtt5(id);
        client.connectWith().cleanStart(true).sessionExpiryInterval(0xFFFFFFFFL).send();
        client.disconnect();
        // within the maximum the session is there
        assertThat(client.connectWith()
                        .cleanStart(false)
                        .sessionExpiryInterval(0xFFFFFFFFL)
                        .send()
                        .isSessionPresent())
                .isTrue();
        client.disconnect();
    }

    @Test
    void anMqtt311PersistentSessionEndsAfterTheBrokersBound() {
        String id = "mqtt3-" + UUID.randomUUID();
        Mqtt3BlockingClient client = MqttClient.builder()
                .useMqttVersion3()
                .identifier(id)
                .serverHost("127.0.0.1")
                .serverPort(port)
                .buildBlocking();
        client.connectWith().cleanSession(false).send();
        client.subscribeWith().topicFilter("t/" + id).qos(MqttQos.AT_LEAST_ONCE).send();
        client.disconnect();
        int held = broker.sessionCount();
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.sessionCount() == held - 1);
        assertThat(client.connectWith().cleanSession(false).send().isSessionPresent())
                .isFalse();
        client.disconnect();
    }

    @Test
    void anAbsentClientsSessionHoldsAtMostTheCap() {
        String id = "away-" + UUID.randomUUID();
        Mqtt5BlockingClient away = mqtt5(id);
        away.connectWith().cleanStart(true).sessionExpiryInterval(60).send();
        away.subscribeWith().topicFilter("q/" + id).qos(MqttQos.AT_LEAST_ONCE).send();
        away.disconnect();
        Mqtt5BlockingClient publisher = mqtt5("pub-" + id);
        publisher.connect();
        for (int i = 0; i < MAX_QUEUED * 3; i++) {
            publisher
                    .publishWith()
                    .topic("q/" + id)
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .payload(("m" + i).getBytes(StandardCharsets.UTF_8))
                    .send();
        }
        publisher.disconnect();
        assertThat(broker.waitingFor(id)).isEqualTo(MAX_QUEUED);
    }

    @Test
    void storedMessagesDeliveredFromOtherThreadsWhileTheClientAcknowledgesAllArrive() throws Exception {
        String id = "fetching-" + UUID.randomUUID();
        int rounds = 10;
        int perRound = 2_000;
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (TestMqttClient client = TestMqttClient.connect(id, port)) {
            client.subscribe("s/" + id + "/#", 1);
            // Threads as the delivery functions' are (not the broker's event loop) deliver each round as soon as the
            // client has the last, so that its PUBACKs come in while they deliver.
            for (int round = 0; round < rounds; round++) {
                for (int half = 0; half < 2; half++) {
                    int first = round * perRound + half * perRound / 2;
                    threads.submit(() -> {
                        for (int i = first; i < first + perRound / 2; i++) {
                            String hexId = String.format("%032X", i + 1);
                            String topic = "s/" + id + "/" + i;
                            broker.onConnectionsLoop(() -> broker.deliverStored(
                                    id, hexId, topic, "stored".getBytes(StandardCharsets.UTF_8), 1, "sender"));
                        }
                    });
                }
                int expected = (round + 1) * perRound;
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> client.received().size() == expected);
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
