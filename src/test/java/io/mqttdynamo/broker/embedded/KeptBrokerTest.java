package io.mqttdynamo.broker.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.Mqtt5BlockingClient;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.vertx.core.Vertx;

/**
 * Dev mode's broker across live reloads: run from classes of its own class loader, reached through the handle,
 * and taken over by the next application with its clients still connected.
 */
class KeptBrokerTest {

    private Vertx vertx;
    private int port;

    @BeforeEach
    void start() {
        vertx = Vertx.vertx();
        port = LocalDynamoDbResource.freePort();
    }

    @AfterEach
    void stop() throws Exception {
        KeptBroker.stop(vertx);
        vertx.close().toCompletionStage().toCompletableFuture().get();
    }

    @Test
    void theBrokerRunsOnClassesOfItsOwnLoader() throws Exception {
        EmbeddedBrokerHandle handle = KeptBroker.startOrTakeOver(vertx, config("node-a"));
        // Not this class loader's EmbeddedBroker: a proxy to the snapshot's.
        assertThat(handle).isNotInstanceOf(EmbeddedBroker.class);

        Mqtt5BlockingClient client = client("kept-client");
        List<String> received = new CopyOnWriteArrayList<>();
        // Before connecting: HiveMQ registers the callback on the client's event loop, asynchronously.
        client.toAsync()
                .publishes(
                        MqttGlobalPublishFilter.ALL,
                        p -> received.add(
                                p.getTopic() + "=" + new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        client.connectWith().cleanStart(true).sessionExpiryInterval(60).send();
        // On the connections' event loop, as the service calls them (EmbeddedBrokerHandle#onConnectionsLoop).
        assertThat(onLoop(handle, () -> handle.subscribe("kept-client", Map.of("a/+", 1))))
                .isTrue();
        assertThat(onLoop(handle, () -> handle.subscribe("nobody", Map.of("a/+", 1))))
                .isFalse();
        assertThat(onLoop(
                        handle,
                        () -> handle.deliverStored(
                                "kept-client",
                                "0".repeat(31) + "1",
                                "a/b",
                                "stored".getBytes(StandardCharsets.UTF_8),
                                1,
                                "someone")))
                .isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("a/b=stored"));
        client.disconnect();
    }

    @Test
    void theNextApplicationTakesTheBrokerOverWithItsClientsConnected() throws Exception {
        KeptBroker.startOrTakeOver(vertx, config("node-a"));
        Mqtt5AsyncClient subscriber = client("stays").toAsync();
        List<String> received = new CopyOnWriteArrayList<>();
        subscriber.publishes(
                MqttGlobalPublishFilter.ALL,
                p -> received.add(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)));
        subscriber.connectWith().cleanStart(true).send().get();
        subscriber
                .subscribeWith()
                .topicFilter("r")
                .qos(MqttQos.AT_LEAST_ONCE)
                .send()
                .get();
        Mqtt5BlockingClient publisher = client("publisher");
        publisher.connect();
        publisher
                .publishWith()
                .topic("r")
                .payload("retained".getBytes(StandardCharsets.UTF_8))
                .qos(MqttQos.AT_LEAST_ONCE)
                .retain(true)
                .send();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 1);

        EmbeddedBrokerHandle next = KeptBroker.startOrTakeOver(vertx, config("node-a"));

        assertThat(subscriber.getState().isConnected()).isTrue();
        // The same broker: it knows the subscriber's session.
        assertThat(next.subscribe("stays", Map.of("other", 1))).isTrue();
        publisher
                .publishWith()
                .topic("r")
                .payload("after".getBytes(StandardCharsets.UTF_8))
                .qos(MqttQos.AT_LEAST_ONCE)
                .send();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("after"));
        // Never disconnected (this client does not reconnect), so the retained message came once.
        assertThat(received).containsExactly("retained", "after");
        publisher.disconnect();
        subscriber.disconnect().get();
    }

    @Test
    void changedSettingsStartANewBroker() throws Exception {
        KeptBroker.startOrTakeOver(vertx, config("node-a"));
        Mqtt5BlockingClient client = client("dropped");
        client.connectWith().cleanStart(true).sessionExpiryInterval(60).send();

        EmbeddedBrokerHandle next = KeptBroker.startOrTakeOver(vertx, config("node-b"));

        await().atMost(Duration.ofSeconds(10)).until(() -> !client.getState().isConnected());
        assertThat(next.subscribe("dropped", Map.of("x", 1))).isFalse();
    }

    private static <T> T onLoop(EmbeddedBrokerHandle handle, java.util.function.Supplier<T> call) throws Exception {
        return handle.onConnectionsLoop(call)
                .toCompletionStage()
                .toCompletableFuture()
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    private Mqtt5BlockingClient client(String id) {
        return MqttClient.builder()
                .useMqttVersion5()
                .identifier(id)
                .serverHost("127.0.0.1")
                .serverPort(port)
                .buildBlocking();
    }

    private MqttDynamoConfig.EmbeddedBroker config(String node) {
        int brokerPort = port;
        return new MqttDynamoConfig.EmbeddedBroker() {
            @Override
            public boolean enabled() {
                return true;
            }

            @Override
            public String host() {
                return "127.0.0.1";
            }

            @Override
            public int port() {
                return brokerPort;
            }

            @Override
            public boolean mqtt5() {
                return true;
            }

            @Override
            public String node() {
                return node;
            }
        };
    }
}
