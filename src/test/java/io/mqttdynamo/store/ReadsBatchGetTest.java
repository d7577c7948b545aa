package io.mqttdynamo.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.Tables.Attr;
import io.mqttdynamo.store.local.DynaliteServer;
import io.mqttdynamo.support.DynamoDbProxy;
import io.mqttdynamo.support.LocalDynamoDbResource;
import io.mqttdynamo.support.TestTables;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * The store's one BatchGetItem against a local DynamoDB server behind the fault proxy: keys DynamoDB leaves
 * unprocessed are asked again after growing pauses until all are read, and a read whose keys stay unprocessed
 * fails after a bounded number of requests.
 */
class ReadsBatchGetTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static DynaliteServer dynalite;
    private static DynamoDbAsyncClient direct;
    private DynamoDbProxy proxy;
    private DynamoDbAsyncClient viaProxy;
    private final List<Long> answeredAt = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        direct = TestTables.client(dynalite.endpoint());
        TestTables.create(direct, Tables.RETAIN);
    }

    @AfterAll
    static void stop() {
        direct.close();
        dynalite.close();
    }

    @BeforeEach
    void proxy() throws Exception {
        proxy = DynamoDbProxy.start(dynalite.endpoint());
        proxy.onExchange(exchange -> {
            if (exchange.operation().equals("BatchGetItem")) {
                answeredAt.add(exchange.receivedNanos());
            }
        });
        viaProxy = TestTables.client(proxy.endpoint());
    }

    @AfterEach
    void closeProxy() {
        viaProxy.close();
        proxy.close();
    }

    /** Rows of mqtt_retain under a fresh prefix; their keys. */
    private static List<Map<String, AttributeValue>> rows(String prefix, int count) throws Exception {
        List<Map<String, AttributeValue>> keys = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String topic = prefix + "/" + i;
            direct.putItem(b -> b.tableName(Tables.RETAIN.tableName())
                            .item(Map.of(
                                    Attr.TOPIC,
                                    AttributeValue.fromS(topic),
                                    Attr.MSGID,
                                    AttributeValue.fromS("m" + topic))))
                    .get(10, TimeUnit.SECONDS);
            keys.add(Map.of(Attr.TOPIC, AttributeValue.fromS(topic)));
        }
        return keys;
    }

    @Test
    void keysLeftUnprocessedAreAskedAgainAfterGrowingPausesUntilAllAreRead() throws Exception {
        List<Map<String, AttributeValue>> keys = rows("again-" + System.nanoTime(), 10);
        AtomicInteger requests = new AtomicInteger();
        // The first three requests leave their last two keys unprocessed, as a throttled table does.
        proxy.fault(request -> request.operation().equals("BatchGetItem") && requests.incrementAndGet() <= 3
                ? DynamoDbProxy.Fault.unprocessed(2)
                : null);

        List<Map<String, AttributeValue>> found = Reads.unmetered(
                        viaProxy, new ReadCost(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()))
                .batchGet(Tables.RETAIN, keys, true, Attr.TOPIC)
                .await()
                .atMost(TIMEOUT);

        assertThat(found)
                .extracting(item -> item.get(Attr.TOPIC))
                .containsExactlyInAnyOrderElementsOf(
                        keys.stream().map(key -> key.get(Attr.TOPIC)).toList());
        // the projection holds for the keys asked again too
        assertThat(found).allMatch(item -> item.keySet().equals(Set.of(Attr.TOPIC)));
        assertThat(answeredAt).hasSize(4);
        // pauses of at least half of 50, 100 and 200 ms between the requests (jittered between half and all)
        for (int i = 1; i < answeredAt.size(); i++) {
            long pauseMillis = TimeUnit.NANOSECONDS.toMillis(answeredAt.get(i) - answeredAt.get(i - 1));
            assertThat(pauseMillis).as("pause before request %d", i + 1).isGreaterThanOrEqualTo(25L << (i - 1));
        }
    }

    @Test
    void aReadWhoseKeysStayUnprocessedFailsAfterABoundedNumberOfRequests() throws Exception {
        List<Map<String, AttributeValue>> keys = rows("never-" + System.nanoTime(), 3);
        proxy.fault(request -> request.operation().equals("BatchGetItem") ? DynamoDbProxy.Fault.unprocessed(1) : null);

        assertThatThrownBy(() -> Reads.unmetered(
                                viaProxy, new ReadCost(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()))
                        .batchGet(Tables.RETAIN, keys, false)
                        .await()
                        .atMost(TIMEOUT))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("unprocessed " + Reads.BATCH_GET_ROUNDS + " times");
        assertThat(answeredAt).hasSize(Reads.BATCH_GET_ROUNDS);
    }
}
