package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TableReader;
import io.mqttdynamo.support.TestTables;
import io.smallrye.config.SmallRyeConfigBuilder;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * The write pipeline with the real SDK over real sockets, a fault-injecting proxy between it and a local
 * DynamoDB server: failed requests, throttling, unprocessed items and refused items.
 */
class WritePipelineFaultTest {

    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient direct;
    private DynamoDbProxy proxy;
    private DynamoDbAsyncClient client;
    private SimpleMeterRegistry registry;
    private WritePipeline pipeline;
    private TableReader tables;

    @BeforeAll
    static void startDynamoDb() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        direct = TestTables.client(dynalite.endpoint());
        for (Tables table : Tables.values()) {
            direct.createTable(table.createRequest()).get(10, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopDynamoDb() {
        direct.close();
        dynalite.close();
    }

    @BeforeEach
    void startPipeline() throws Exception {
        proxy = DynamoDbProxy.start(dynalite.endpoint());
        client = TestTables.client(proxy.endpoint());
        registry = new SimpleMeterRegistry();
        MqttDynamoConfig config = new SmallRyeConfigBuilder()
                .withMapping(MqttDynamoConfig.class)
                .withDefaultValue("mqtt-dynamo.store.max-retry-delay", "PT0.2S")
                .build()
                .getConfigMapping(MqttDynamoConfig.class);
        pipeline = new WritePipeline(client, new StoreMetrics(registry), config);
        tables = new TableReader(direct);
    }

    @AfterEach
    void stopPipeline() {
        client.close();
        proxy.close();
    }

    private static Map<String, AttributeValue> topicKey(String topic) {
        return Map.of(Tables.Attr.TOPIC, AttributeValue.fromS(topic));
    }

    private static ItemWrite retained(String topic, String payload) {
        return new ItemWrite.Put(
                Tables.RETAIN,
                Map.of(
                        Tables.Attr.TOPIC,
                        AttributeValue.fromS(topic),
                        Tables.Attr.PAYLOAD,
                        AttributeValue.fromS(payload)));
    }

    private double counter(String name) {
        return registry.find(name).counters().stream()
                .mapToDouble(c -> c.count())
                .sum();
    }

    @Test
    void aFailedSetAdditionStillGoesBeforeTheRemovalQueuedBehindIt() throws Exception {
        String topic = "order/" + System.nanoTime();
        CountDownLatch additionArrived = new CountDownLatch(1);
        CountDownLatch removalQueued = new CountDownLatch(1);
        AtomicInteger additions = new AtomicInteger();
        List<String> updates = Collections.synchronizedList(new ArrayList<>());
        proxy.onExchange(e -> {
            if (e.operation().equals("UpdateItem") && e.requestBody().contains(topic)) {
                updates.add((e.requestBody().contains("ADD") ? "ADD" : "DELETE") + " " + e.status());
            }
        });
        proxy.fault(request -> {
            if (request.operation().equals("UpdateItem")
                    && request.body().contains(topic)
                    && request.body().contains("ADD")
                    && additions.getAndIncrement() == 0) {
                additionArrived.countDown();
                try {
                    // The removal is queued while the addition is in flight; then the addition fails.
                    removalQueued.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return DynamoDbProxy.Fault.error(500, "InternalServerError", "injected");
            }
            return null;
        });

        CompletableFuture<Void> addition = pipeline.submitAll(List.of(
                new ItemWrite.AddToSet(Tables.TOPIC_MSG_MAP, topicKey(topic), Tables.Attr.MSG_ID_SET, Set.of("m1"))));
        assertThat(additionArrived.await(10, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Void> removal = pipeline.submitAll(List.of(new ItemWrite.RemoveFromSet(
                Tables.TOPIC_MSG_MAP, topicKey(topic), Tables.Attr.MSG_ID_SET, Set.of("m1"))));
        removalQueued.countDown();
        CompletableFuture.allOf(addition, removal).get(20, TimeUnit.SECONDS);

        assertThat(updates).containsExactly("ADD 500", "ADD 200", "DELETE 200");
        assertThat(tables.topicMsgIds(topic)).isEmpty();
        assertThat(counter("mqtt_dynamo_write_retries")).isEqualTo(1);
    }

    @Test
    void throttlingAndServerErrorsAreRetriedUntilEverythingIsStored() throws Exception {
        AtomicInteger refusals = new AtomicInteger();
        proxy.fault(request -> switch (refusals.getAndIncrement()) {
            case 0, 1 -> DynamoDbProxy.Fault.error(400, "ProvisionedThroughputExceededException", "slow down");
            case 2 -> DynamoDbProxy.Fault.error(400, "ThrottlingException", "slow down");
            case 3 -> DynamoDbProxy.Fault.error(500, "InternalServerError", "oops");
            case 4, 5 -> DynamoDbProxy.Fault.unprocessed(3);
            default -> null;
        });
        String prefix = "throttled/" + System.nanoTime() + "/";
        List<ItemWrite> writes = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            writes.add(retained(prefix + i, "v" + i));
        }
        writes.add(new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP, topicKey(prefix), Tables.Attr.MSG_ID_SET, Set.of("a", "b")));
        pipeline.submitAll(writes).get(30, TimeUnit.SECONDS);

        for (int i = 0; i < 60; i++) {
            assertThat(tables.item("mqtt_retain", "topic", prefix + i))
                    .as("item %d", i)
                    .hasValueSatisfying(
                            item -> assertThat(item.get("payload").s()).startsWith("v"));
        }
        assertThat(tables.topicMsgIds(prefix)).containsExactlyInAnyOrder("a", "b");
        assertThat(counter("mqtt_dynamo_write_retries")).isGreaterThanOrEqualTo(4);
        assertThat(pipeline.pending()).isZero();
    }

    @Test
    void anItemDynamoDbRefusesDoesNotTakeItsBatchNeighboursDown() throws Exception {
        String prefix = "refused/" + System.nanoTime() + "/";
        List<CompletableFuture<Void>> results = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            // Item 4 is over DynamoDB's 400 KB item limit (also by dynalite's count).
            String payload = i == 4 ? "x".repeat(420 * 1024) : "v" + i;
            results.add(pipeline.submitAll(List.of(retained(prefix + i, payload))));
        }
        for (int i = 0; i < 10; i++) {
            CompletableFuture<Void> result = results.get(i);
            if (i == 4) {
                assertThatThrownBy(() -> result.get(20, TimeUnit.SECONDS))
                        .isInstanceOf(ExecutionException.class)
                        .hasCauseInstanceOf(RejectedWriteException.class);
                assertThat(tables.item("mqtt_retain", "topic", prefix + i)).isEmpty();
            } else {
                result.get(20, TimeUnit.SECONDS);
                assertThat(tables.item("mqtt_retain", "topic", prefix + i)).isPresent();
            }
        }
        assertThat(counter("mqtt_dynamo_write_failures")).isEqualTo(1);
        // The stream goes on.
        pipeline.submitAll(List.of(retained(prefix + "after", "v"))).get(10, TimeUnit.SECONDS);
        assertThat(tables.item("mqtt_retain", "topic", prefix + "after")).isPresent();
    }

    @Test
    void aKeyOverDynamoDbsLimitIsRefusedBeforeItIsSentAndItsNeighboursAreStored() throws Exception {
        String prefix = "longkey/" + System.nanoTime() + "/";
        // 1,100 UTF-16 units, which the local server takes; 3,300 UTF-8 bytes, which DynamoDB refuses.
        String tooLong = prefix + "€".repeat(1_100);
        CompletableFuture<Void> refused = pipeline.submitAll(List.of(retained(tooLong, "v")));
        CompletableFuture<Void> neighbour = pipeline.submitAll(List.of(retained(prefix + "ok", "v")));

        assertThatThrownBy(() -> refused.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(RejectedWriteException.class);
        neighbour.get(10, TimeUnit.SECONDS);
        assertThat(tables.item("mqtt_retain", "topic", prefix + "ok")).isPresent();
        assertThat(tables.item("mqtt_retain", "topic", tooLong)).isEmpty();
        assertThat(counter("mqtt_dynamo_write_failures")).isEqualTo(1);
    }

    /**
     * Errors that are about the service's access or the table, not one item (a role that lost a permission, a
     * rotated key, an expired token, a KMS key, a missing table, a malformed request): while DynamoDB gives them,
     * no write fails and no new work is admitted; once it takes writes again, everything is stored.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "AccessDeniedException|User: arn:aws:sts::123456789012:assumed-role/mqtt-dynamo/x is not authorized to perform: dynamodb:BatchWriteItem",
                "UnrecognizedClientException|The security token included in the request is invalid.",
                "ExpiredTokenException|The security token included in the request is expired",
                "MissingAuthenticationTokenException|Request is missing Authentication Token",
                "KMSAccessDeniedException|The ciphertext refers to a customer master key that does not exist or that you do not have access to",
                "ResourceNotFoundException|Requested resource not found",
                "ValidationException|1 validation error detected: Value null at 'requestItems' failed to satisfy constraint"
            })
    void aRefusalOutsideTheItemsDropsNothingAndTakesNoNewWorkUntilWritesGoThrough(String code, String message)
            throws Exception {
        AtomicBoolean refusing = new AtomicBoolean(true);
        proxy.fault(request -> refusing.get() ? DynamoDbProxy.Fault.error(400, code, message) : null);
        String prefix = "denied/" + System.nanoTime() + "/";
        List<CompletableFuture<Void>> results = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            results.add(pipeline.submitAll(List.of(retained(prefix + i, "v" + i))));
        }
        results.add(pipeline.submitAll(List.of(
                new ItemWrite.AddToSet(Tables.TOPIC_MSG_MAP, topicKey(prefix), Tables.Attr.MSG_ID_SET, Set.of("m1")))));

        await().atMost(Duration.ofSeconds(10))
                .until(() -> pipeline.refusal().isPresent() && counter("mqtt_dynamo_write_errors") >= 10);
        assertThat(pipeline.refusal().get().code()).isEqualTo(code);
        assertThat(results).noneMatch(CompletableFuture::isDone);
        CompletableFuture<Void> admission = pipeline.admitted().toCompletableFuture();
        assertThat(admission).isNotDone();
        assertThat(registry.get("mqtt_dynamo_writes_refused").gauge().value()).isEqualTo(1);

        refusing.set(false);
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        admission.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 30; i++) {
            assertThat(tables.item("mqtt_retain", "topic", prefix + i))
                    .as("item %d", i)
                    .isPresent();
        }
        assertThat(tables.topicMsgIds(prefix)).containsExactly("m1");
        // What DynamoDB bills: one write unit per item under 1 KB, refused requests cost nothing.
        assertThat(registry.get("mqtt_dynamo_consumed_write_units")
                        .tag("table", "mqtt_retain")
                        .counter()
                        .count())
                .isEqualTo(30);
        assertThat(pipeline.refusal()).isEmpty();
        assertThat(registry.get("mqtt_dynamo_writes_refused").gauge().value()).isZero();
        assertThat(counter("mqtt_dynamo_write_failures")).isZero();
    }

    @Test
    void aBatchRefusedForOneItemsSizeIsNotARefusalOfTheService() throws Exception {
        String prefix = "oversize/" + System.nanoTime() + "/";
        CompletableFuture<Void> big = pipeline.submitAll(List.of(retained(prefix + "big", "x".repeat(420 * 1024))));
        assertThatThrownBy(() -> big.get(20, TimeUnit.SECONDS)).hasCauseInstanceOf(RejectedWriteException.class);
        assertThat(pipeline.refusal()).isEmpty();
        assertThat(pipeline.admitted().toCompletableFuture()).isDone();
    }

    /**
     * A client update and a counter change that DynamoDB applied while the service got a 500: the retries must
     * neither lose the client's count (the update's old values no longer tell the change) nor count it twice.
     */
    @Test
    void writesAppliedWhoseAnswerWasLostCountExactlyOnce() throws Exception {
        String clientId = "lost-answer-" + System.nanoTime();
        String shard = Indexes.shardOf(clientId);
        long knownBefore = counterValue(shard, Tables.Attr.KNOWN);
        long onlineBefore = counterValue(shard, Tables.Attr.ONLINE);
        ItemMapper items = new ItemMapper(
                new SmallRyeConfigBuilder()
                        .withMapping(MqttDynamoConfig.class)
                        .build()
                        .getConfigMapping(MqttDynamoConfig.class),
                registry);
        AtomicBoolean clientAnswerLost = new AtomicBoolean();
        AtomicBoolean counterAnswerLost = new AtomicBoolean();
        proxy.fault(request -> {
            if (!request.operation().equals("UpdateItem")) {
                return null;
            }
            boolean client =
                    request.body().contains("\"mqtt_client\"") && request.body().contains(clientId);
            boolean counter = request.body().contains("\"mqtt_dynamo_stats\"");
            if (client && clientAnswerLost.compareAndSet(false, true)
                    || counter && counterAnswerLost.compareAndSet(false, true)) {
                return DynamoDbProxy.Fault.appliedThenError(500, "InternalServerError", "answer lost");
            }
            return null;
        });

        long at = System.currentTimeMillis();
        pipeline.submitAll(List.of(items.connected(
                        new io.mqttdynamo.domain.BrokerEvent.ClientConnected(clientId, "node1", "user", at))))
                .get(20, TimeUnit.SECONDS);
        assertThat(clientAnswerLost).isTrue();
        assertThat(counterAnswerLost).isTrue();
        assertThat(counterValue(shard, Tables.Attr.KNOWN)).isEqualTo(knownBefore + 1);
        assertThat(counterValue(shard, Tables.Attr.ONLINE)).isEqualTo(onlineBefore + 1);

        clientAnswerLost.set(false);
        counterAnswerLost.set(false);
        pipeline.submitAll(List.of(items.disconnected(new io.mqttdynamo.domain.BrokerEvent.ClientDisconnected(
                        clientId, "node1", "normal", at + 1000))))
                .get(20, TimeUnit.SECONDS);
        assertThat(clientAnswerLost).isTrue();
        assertThat(counterValue(shard, Tables.Attr.KNOWN)).isEqualTo(knownBefore + 1);
        assertThat(counterValue(shard, Tables.Attr.ONLINE)).isEqualTo(onlineBefore);
        assertThat(tables.item("mqtt_client", "clientid", clientId)
                        .orElseThrow()
                        .get("connect_state")
                        .n())
                .isEqualTo("0");
    }

    private long counterValue(String shard, String attribute) {
        return tables.item("mqtt_dynamo_stats", "name", "clients#" + shard)
                .map(item -> item.get(attribute))
                .map(value -> Long.parseLong(value.n()))
                .orElse(0L);
    }

    /** An addition older than everything a full capped set keeps is trimmed away whole: done, nothing sent empty. */
    @Test
    void anAdditionOlderThanAFullSetKeepsIsTrimmedAwayWithoutStallingTheStore() throws Exception {
        String topic = "older/" + System.nanoTime();
        for (String id : List.of("m5", "m6", "m7", "m8")) {
            pipeline.submitAll(List.of(capped(topic, Tables.Attr.MSG_ID_SET, id, 4)))
                    .get(10, TimeUnit.SECONDS);
        }
        pipeline.submitAll(List.of(capped(topic, Tables.Attr.MSG_ID_SET, "m1", 4)))
                .get(10, TimeUnit.SECONDS);

        assertThat(tables.topicMsgIds(topic)).containsExactlyInAnyOrder("m7", "m8");
        assertThat(pipeline.refusal()).isEmpty();
        assertThat(pipeline.admitted().toCompletableFuture()).isDone();
    }

    /** Two capped sets on one item (MsgId and the early-ack marks): trimming one leaves the other alone. */
    @Test
    void twoCappedSetsOfOneItemAreTrimmedEachByItsOwnMembers() throws Exception {
        String topic = "two-sets/" + System.nanoTime();
        for (String id : List.of("a1", "a2", "a3", "a4")) {
            pipeline.submitAll(List.of(capped(topic, Tables.Attr.MSG_ID_SET, id, 4)))
                    .get(10, TimeUnit.SECONDS);
        }
        // Found full once: read, and known from then on.
        pipeline.submitAll(List.of(capped(topic, Tables.Attr.MSG_ID_SET, "a5", 4)))
                .get(10, TimeUnit.SECONDS);
        for (String id : List.of("z1", "z2", "z3", "z4")) {
            pipeline.submitAll(List.of(capped(topic, Tables.Attr.ACKED_FIRST, id, 4)))
                    .get(10, TimeUnit.SECONDS);
        }
        for (String id : List.of("a6", "a7", "a8")) {
            pipeline.submitAll(List.of(capped(topic, Tables.Attr.MSG_ID_SET, id, 4)))
                    .get(10, TimeUnit.SECONDS);
        }

        Map<String, AttributeValue> item =
                tables.item("mqtt_topic_msg_map", "topic", topic).orElseThrow();
        // a5 found the set full: a4, a5 kept; a8 found it full again: a7, a8 kept (trimmed by half each time).
        assertThat(item.get(Tables.Attr.MSG_ID_SET).ss()).containsExactlyInAnyOrder("a7", "a8");
        assertThat(item.get(Tables.Attr.ACKED_FIRST).ss()).containsExactlyInAnyOrder("z1", "z2", "z3", "z4");
    }

    private static ItemWrite capped(String topic, String attribute, String id, int cap) {
        return new ItemWrite.AddToSet(
                Tables.TOPIC_MSG_MAP, topicKey(topic), attribute, Set.of(id), cap, java.util.Comparator.naturalOrder());
    }
}
