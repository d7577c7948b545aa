package io.mqttdynamo.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.broker.BrokerSessions;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;
import io.mqttdynamo.store.ItemMapper;
import io.mqttdynamo.store.StoreMetrics;
import io.mqttdynamo.store.WritePipeline;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestTables;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;

/**
 * An acknowledgement stored before its message, by two replicas (each its hook functions and write pipeline,
 * each through its own proxy) against one local DynamoDB server: replica B takes the ack, replica A the
 * message, as the broker's shared subscriptions can hand them out.
 */
class AckBeforeMessageReplicasTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient direct;
    private static TableReader tables;
    private final EmqxMsgId ids = new EmqxMsgId();
    private final List<AutoCloseable> opened = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        direct = TestTables.client(dynalite.endpoint());
        TestTables.create(direct);
        tables = new TableReader(direct);
    }

    @AfterAll
    static void stop() {
        direct.close();
        dynalite.close();
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : opened) {
            c.close();
        }
    }

    /** One replica of the service: its hook functions and its pipeline, to DynamoDB through its own proxy. */
    private final class Replica {
        final DynamoDbProxy proxy;
        final HookRouter router;
        final WritePipeline pipeline;

        Replica(String clientId, boolean deleteMessage) throws Exception {
            proxy = DynamoDbProxy.start(dynalite.endpoint());
            DynamoDbAsyncClient dynamo = TestTables.client(proxy.endpoint());
            opened.add(dynamo);
            opened.add(proxy);
            Map<String, String> values = new HashMap<>(Map.of(
                    "mqtt-dynamo.broker.client-id",
                    clientId,
                    "mqtt-dynamo.messages.mode",
                    "envelope",
                    "mqtt-dynamo.acks.delete-message",
                    Boolean.toString(deleteMessage),
                    "mqtt-dynamo.store.max-retry-delay",
                    "PT0.2S"));
            SmallRyeConfig raw = new SmallRyeConfigBuilder()
                    .withMapping(MqttDynamoConfig.class)
                    .withDefaultValues(values)
                    .build();
            MqttDynamoConfig config = raw.getConfigMapping(MqttDynamoConfig.class);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            pipeline = new WritePipeline(dynamo, new StoreMetrics(registry), config);
            router = new HookRouter(
                    new HookRules(config, raw),
                    new ItemMapper(config, registry),
                    config,
                    new BrokerSessions(config, registry),
                    new Republications(),
                    registry);
        }

        /** Takes the event as ingest does; completes when its writes are stored (when its MQTT ack would go). */
        CompletableFuture<Void> take(BrokerEvent event) {
            return pipeline.store(router.writesFor(event)).subscribeAsCompletionStage();
        }

        void stored(BrokerEvent event) throws Exception {
            take(event).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    private static BrokerEvent.MessagePublished message(String msgId, String topic) {
        return new BrokerEvent.MessagePublished(
                msgId,
                topic,
                1,
                false,
                "sensor-1",
                "21.5".getBytes(StandardCharsets.UTF_8),
                System.currentTimeMillis());
    }

    private static BrokerEvent.MessageAcked ack(String msgId, String topic) {
        return new BrokerEvent.MessageAcked(msgId, topic, "dashboard-1", "sensor-1", 1, System.currentTimeMillis());
    }

    private static List<String> marks(String topic) {
        return tables.item("mqtt_topic_msg_map", "topic", topic)
                .map(item -> item.get("acked_first") == null
                        ? List.<String>of()
                        : item.get("acked_first").ss())
                .orElse(List.of());
    }

    @Test
    void anAckStoredByOneReplicaBeforeAnotherStoresTheMessageLeavesItConsumed() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", false);
        Replica b = new Replica("mqtt-dynamo-1", false);
        String topic = "early/" + System.nanoTime();
        String early = ids.next();
        String later = ids.next();

        b.stored(ack(early, topic));
        a.stored(message(early, topic));
        a.stored(message(later, topic));

        assertThat(tables.topicMsgIds(topic)).containsExactly(later);
        assertThat(tables.item("mqtt_acked", "topic", topic, "clientid", "dashboard-1")
                        .orElseThrow()
                        .get("msgid")
                        .s())
                .isEqualTo(early);
        assertThat(tables.item("mqtt_msg", "msgid", early)).isPresent();
        assertThat(marks(topic)).isEmpty();
    }

    @Test
    void withDeleteMessageTheEarlyAckedMessageIsNotStoredAgain() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", true);
        Replica b = new Replica("mqtt-dynamo-1", true);
        String topic = "early-deleted/" + System.nanoTime();
        String early = ids.next();

        b.stored(ack(early, topic));
        a.stored(message(early, topic));

        assertThat(tables.item("mqtt_msg", "msgid", early)).isEmpty();
        assertThat(tables.topicMsgIds(topic)).isEmpty();
        assertThat(marks(topic)).isEmpty();
    }

    /** The message's addition lands between the ack's removal and its mark: the mark's answer undoes it. */
    @Test
    void theMessageStoredBetweenTheRemovalAndTheMarkIsConsumedToo() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", true);
        Replica b = new Replica("mqtt-dynamo-1", true);
        String topic = "early-race/" + System.nanoTime();
        String early = ids.next();
        CountDownLatch markSent = new CountDownLatch(1);
        CountDownLatch messageStored = new CountDownLatch(1);
        b.proxy.fault(request -> {
            if (request.operation().equals("UpdateItem")
                    && request.body().contains("acked_first")
                    && request.body().contains("ADD")) {
                markSent.countDown();
                try {
                    messageStored.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return null;
        });

        CompletableFuture<Void> ackStored = b.take(ack(early, topic));
        await().atMost(TIMEOUT).until(() -> markSent.getCount() == 0);
        a.stored(message(early, topic));
        assertThat(tables.topicMsgIds(topic)).containsExactly(early);
        messageStored.countDown();
        ackStored.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

        assertThat(tables.topicMsgIds(topic)).isEmpty();
        assertThat(tables.item("mqtt_msg", "msgid", early)).isEmpty();
        assertThat(marks(topic)).isEmpty();
    }

    /** In order, across replicas, the ack costs what it did: one update of the topic's item, no mark. */
    @Test
    void aMessageAndItsAckInOrderWriteNoMark() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", false);
        Replica b = new Replica("mqtt-dynamo-1", false);
        String topic = "in-order/" + System.nanoTime();
        String msgId = ids.next();

        a.stored(message(msgId, topic));
        b.stored(ack(msgId, topic));

        assertThat(tables.topicMsgIds(topic)).isEmpty();
        assertThat(marks(topic)).isEmpty();
        assertThat(a.proxy.count("UpdateItem")).isEqualTo(1);
        assertThat(b.proxy.count("UpdateItem")).isEqualTo(1);
    }

    /** An ack that comes after its msgid was trimmed from the topic's capped set marks nothing. */
    @Test
    void anAckOfATrimmedMsgIdWritesNoMark() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", false);
        Replica b = new Replica("mqtt-dynamo-1", false);
        String topic = "trimmed/" + System.nanoTime();
        List<String> stored = new ArrayList<>();
        // More than the set's cap (16 by default): the oldest are trimmed before their acks come.
        for (int i = 0; i < 40; i++) {
            stored.add(ids.next());
            a.stored(message(stored.get(i), topic));
        }
        assertThat(tables.topicMsgIds(topic)).doesNotContain(stored.get(0));

        b.stored(ack(stored.get(0), topic));

        assertThat(marks(topic)).isEmpty();
        assertThat(b.proxy.count("UpdateItem")).isEqualTo(1);
    }

    /** One replica taking the ack, then the message: the mark it made goes with the message. */
    @Test
    void aReplicaThatTakesTheAckAndThenTheMessageLeavesNoMark() throws Exception {
        Replica b = new Replica("mqtt-dynamo-1", false);
        String topic = "early-here/" + System.nanoTime();
        String early = ids.next();

        b.stored(ack(early, topic));
        b.stored(message(early, topic));

        assertThat(tables.topicMsgIds(topic)).isEmpty();
        assertThat(marks(topic)).isEmpty();
    }

    /** With delete-message, one replica taking the message and then its ack: the message's item goes. */
    @Test
    void oneReplicaTakingTheMessageThenItsAckDeletesTheItem() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", true);
        String topic = "in-order-deleted/" + System.nanoTime();
        String msgId = ids.next();

        CompletableFuture<Void> message = a.take(message(msgId, topic));
        a.stored(ack(msgId, topic));
        message.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

        assertThat(tables.item("mqtt_msg", "msgid", msgId)).isEmpty();
        assertThat(tables.topicMsgIds(topic)).isEmpty();
    }

    /**
     * With delete-message, one replica taking a message and its ack at the same moment (two channels, two
     * threads), many times: whichever reaches DynamoDB first, no item and no pending msgid is left.
     */
    @Test
    void aMessageAndItsAckTakenAtOnceLeaveNothing() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", true);
        ExecutorService channels = Executors.newFixedThreadPool(2);
        try {
            List<String> left = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                String topic = "at-once/" + System.nanoTime();
                String msgId = ids.next();
                CountDownLatch go = new CountDownLatch(1);
                Future<CompletableFuture<Void>> message = channels.submit(() -> {
                    go.await();
                    return a.take(message(msgId, topic));
                });
                Future<CompletableFuture<Void>> ack = channels.submit(() -> {
                    go.await();
                    return a.take(ack(msgId, topic));
                });
                go.countDown();
                message.get().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                ack.get().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                if (tables.item("mqtt_msg", "msgid", msgId).isPresent()
                        || !tables.topicMsgIds(topic).isEmpty()
                        || !marks(topic).isEmpty()) {
                    left.add(msgId);
                }
            }
            assertThat(left).isEmpty();
        } finally {
            channels.shutdown();
        }
    }

    @Test
    void aBurstFoldedBeyondTheCapSettlesAMarkedMessageTrimmedFromItAndLeavesAStaleMark() throws Exception {
        Replica a = new Replica("mqtt-dynamo-0", false);
        Replica b = new Replica("mqtt-dynamo-1", false);
        String topic = "burst/" + System.nanoTime();
        // Replica B took two acks first: one of a message replica A takes below, one of a message never stored.
        String early = ids.next();
        String stale = ids.next();
        b.stored(ack(early, topic));
        b.stored(ack(stale, topic));
        assertThat(marks(topic)).containsExactlyInAnyOrder(early, stale);

        // The first addition to the topic's item is held, so that the burst behind it folds into one addition of
        // more msgids than the set keeps: the oldest, the early-acknowledged one among them, are trimmed from it.
        AtomicBoolean held = new AtomicBoolean();
        a.proxy.fault(request -> request.operation().equals("UpdateItem") && held.compareAndSet(false, true)
                ? DynamoDbProxy.Fault.delay(Duration.ofSeconds(1))
                : null);
        List<String> burst = new ArrayList<>();
        List<CompletableFuture<Void>> stored = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String msgId = i == 20 ? early : ids.next();
            burst.add(msgId);
            stored.add(a.take(message(msgId, topic)));
        }
        CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new)).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

        // The early-acknowledged message is not pending and its mark is gone (its message is consumed); the stale
        // mark stays (the newest marks are kept) and did not hold the burst back; the newest others are pending.
        assertThat(tables.topicMsgIds(topic)).doesNotContain(early).isNotEmpty();
        assertThat(marks(topic)).containsExactly(stale);
        List<String> newest = burst.subList(burst.size() - 8, burst.size());
        assertThat(tables.topicMsgIds(topic)).containsAll(newest);
    }
}
