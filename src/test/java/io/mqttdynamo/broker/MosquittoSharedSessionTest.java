package io.mqttdynamo.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.hivemq.client.mqtt.MqttClient;
import com.hivemq.client.mqtt.MqttGlobalPublishFilter;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt5.Mqtt5AsyncClient;
import com.hivemq.client.mqtt.mqtt5.message.publish.Mqtt5Publish;

import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.OwnMosquitto;
import io.mqttdynamo.support.TestMqttClient;

/**
 * What Mosquitto (2.0.x) does with a shared subscription member's messages when the member goes away,
 * which decides what a replica must do on scale-down. Member A holds messages unacknowledged (and has more
 * queued), member B acknowledges everything:
 * <ul>
 * <li>A ends its session (DISCONNECT with session expiry 0): A's messages are dropped, never given to B;</li>
 * <li>A goes away keeping its session: Mosquitto keeps assigning new messages to A's session, so half of
 * the stream waits for A to come back;</li>
 * <li>A unsubscribes first: new messages go to B, A still gets what was queued for it; once A has
 * acknowledged everything, ending its session loses nothing (what the service does when it leaves).</li>
 * </ul>
 */
class MosquittoSharedSessionTest {

    private static final int MESSAGES = 100;
    private static int port;
    private static Process mosquitto;

    @BeforeAll
    static void startBroker() throws Exception {
        port = LocalDynamoDbResource.freePort();
        mosquitto = OwnMosquitto.start(port);
    }

    @AfterAll
    static void stopBroker() {
        mosquitto.destroy();
    }

    /** Member A: a persistent session whose messages are acknowledged only by hand. */
    private static final class HoldingMember {
        final Mqtt5AsyncClient client;
        final List<Mqtt5Publish> held = new CopyOnWriteArrayList<>();

        HoldingMember(String clientId, String filter) throws Exception {
            client = MqttClient.builder()
                    .useMqttVersion5()
                    .identifier(clientId)
                    .serverHost("127.0.0.1")
                    .serverPort(port)
                    .buildAsync();
            client.publishes(MqttGlobalPublishFilter.ALL, held::add, true);
            client.connectWith()
                    .cleanStart(false)
                    .sessionExpiryInterval(300)
                    .send()
                    .get();
            client.subscribeWith()
                    .topicFilter(filter)
                    .qos(MqttQos.AT_LEAST_ONCE)
                    .send()
                    .get();
        }

        Set<Integer> payloads() {
            return numbers(held);
        }
    }

    private static Set<Integer> numbers(List<Mqtt5Publish> publishes) {
        return publishes.stream()
                .map(p -> Integer.parseInt(new String(p.getPayloadAsBytes(), StandardCharsets.UTF_8)))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static void publish(String topic, int from, int to) {
        try (TestMqttClient publisher = TestMqttClient.connect("share-pub-" + UUID.randomUUID(), port)) {
            for (int i = from; i < to; i++) {
                publisher.publish(topic, Integer.toString(i), 1, false);
            }
        }
    }

    @Test
    void endingASessionDropsItsUnacknowledgedMessages() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String filter = "$share/g/end-" + run + "/#";
        String topic = "end-" + run + "/t";
        HoldingMember a = new HoldingMember("share-a-" + run, filter);
        try (TestMqttClient b = TestMqttClient.connect("share-b-" + run, port)) {
            b.subscribe(filter, 1);
            publish(topic, 0, MESSAGES);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> numbers(b.received()).size() + a.held.size() >= MESSAGES / 2
                            && !a.held.isEmpty()
                            && numbers(b.received()).size() >= MESSAGES / 2 - 5);
            Set<Integer> lostWithA =
                    new TreeSet<>(IntStream.range(0, MESSAGES).boxed().toList());
            lostWithA.removeAll(numbers(b.received()));
            assertThat(lostWithA).containsAll(a.payloads());

            a.client.disconnectWith().sessionExpiryInterval(0).send().get();
            publish(topic, MESSAGES, MESSAGES + 10);
            // New messages all go to B; A's held and queued ones never do.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> numbers(b.received())
                            .containsAll(IntStream.range(MESSAGES, MESSAGES + 10)
                                    .boxed()
                                    .toList()));
            await("A's messages stay lost")
                    .during(Duration.ofSeconds(2))
                    .atMost(Duration.ofSeconds(4))
                    .until(() -> lostWithA.stream().noneMatch(numbers(b.received())::contains));
        }
    }

    @Test
    void aSessionKeptOfflineGoesOnReceivingItsShare() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String filter = "$share/g/keep-" + run + "/#";
        String topic = "keep-" + run + "/t";
        HoldingMember a = new HoldingMember("share-a-" + run, filter);
        try (TestMqttClient b = TestMqttClient.connect("share-b-" + run, port)) {
            b.subscribe(filter, 1);
            a.client.disconnect().get();
            publish(topic, 0, 20);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> numbers(b.received()).size() >= 10);
            await("B gets only its share")
                    .during(Duration.ofSeconds(1))
                    .atMost(Duration.ofSeconds(3))
                    .until(() -> numbers(b.received()).size() < 20);
            // The rest waited in A's session: the same client id gets them when it comes back.
            HoldingMember back = new HoldingMember("share-a-" + run, filter);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                Set<Integer> all = new TreeSet<>(numbers(b.received()));
                all.addAll(back.payloads());
                return all.size() == 20;
            });
            back.held.forEach(Mqtt5Publish::acknowledge);
            back.client.disconnectWith().sessionExpiryInterval(0).send().get();
        }
    }

    @Test
    void unsubscribingFirstThenAcknowledgingLosesNothing() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String filter = "$share/g/leave-" + run + "/#";
        String topic = "leave-" + run + "/t";
        HoldingMember a = new HoldingMember("share-a-" + run, filter);
        try (TestMqttClient b = TestMqttClient.connect("share-b-" + run, port)) {
            b.subscribe(filter, 1);
            publish(topic, 0, MESSAGES);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !a.held.isEmpty() && numbers(b.received()).size() >= MESSAGES / 2 - 5);

            a.client.unsubscribeWith().topicFilter(filter).send().get();
            publish(topic, MESSAGES, MESSAGES + 10);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> numbers(b.received())
                            .containsAll(IntStream.range(MESSAGES, MESSAGES + 10)
                                    .boxed()
                                    .toList()));
            // A acknowledges what it holds, and gets what was queued for it, until it has everything else.
            Set<Integer> acknowledged = new TreeSet<>();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                for (Mqtt5Publish p : a.held) {
                    if (acknowledged.add(numbers(List.of(p)).iterator().next())) {
                        p.acknowledge();
                    }
                }
                Set<Integer> all = new TreeSet<>(numbers(b.received()));
                all.addAll(acknowledged);
                return all.size() == MESSAGES + 10;
            });
            assertThat(a.payloads())
                    .doesNotContainAnyElementsOf(
                            IntStream.range(MESSAGES, MESSAGES + 10).boxed().toList());
            a.client.disconnectWith().sessionExpiryInterval(0).send().get();
        }
    }
}
