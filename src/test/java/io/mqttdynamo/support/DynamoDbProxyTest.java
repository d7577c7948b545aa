package io.mqttdynamo.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.mqttdynamo.store.local.DynaliteServer;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.DynamoDbException;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.ProvisionedThroughputExceededException;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/** The fault-injecting proxy between the real SDK and a real dynalite. */
class DynamoDbProxyTest {

    private static final String TABLE = "proxy_test";
    private static DynaliteServer dynalite;
    private static DynamoDbProxy proxy;
    /** Through the proxy, one for the class: closing an SDK client's Netty event loops takes seconds. */
    private static DynamoDbAsyncClient withoutRetries;

    private static DynamoDbAsyncClient withRetries;

    @BeforeAll
    static void start() throws Exception {
        dynalite = DynaliteServer.start(
                Path.of("local-dynamodb"), "127.0.0.1", LocalDynamoDbResource.freePort(), Optional.empty());
        proxy = DynamoDbProxy.start(dynalite.endpoint());
        try (DynamoDbAsyncClient direct = client(dynalite.endpoint(), AwsRetryStrategy.doNotRetry())) {
            direct.createTable(b -> b.tableName(TABLE)
                            .keySchema(KeySchemaElement.builder()
                                    .attributeName("msgid")
                                    .keyType(KeyType.HASH)
                                    .build())
                            .attributeDefinitions(AttributeDefinition.builder()
                                    .attributeName("msgid")
                                    .attributeType(ScalarAttributeType.S)
                                    .build())
                            .billingMode(BillingMode.PAY_PER_REQUEST))
                    .join();
            // The SDK's waiter polls every 20 s; dynalite makes a table active within a second.
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> direct.describeTable(b -> b.tableName(TABLE))
                                    .join()
                                    .table()
                                    .tableStatus()
                            == TableStatus.ACTIVE);
        }
        withoutRetries = client(proxy.endpoint(), AwsRetryStrategy.doNotRetry());
        withRetries = client(
                proxy.endpoint(),
                AwsRetryStrategy.standardRetryStrategy().toBuilder()
                        .maxAttempts(3)
                        .build());
    }

    @AfterAll
    static void stop() {
        if (withoutRetries != null) {
            withoutRetries.close();
            withRetries.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (dynalite != null) {
            dynalite.close();
        }
    }

    @Test
    void aNormalRequestPassesThroughAndIsObserved() {
        List<DynamoDbProxy.Exchange> seen = new CopyOnWriteArrayList<>();
        proxy.fault(null).onExchange(seen::add);
        long before = proxy.count("PutItem");
        withoutRetries
                .putItem(b -> b.tableName(TABLE).item(Map.of("msgid", s("plain"), "payload", s("hello"))))
                .join();
        var item = withoutRetries
                .getItem(b -> b.tableName(TABLE).key(Map.of("msgid", s("plain"))))
                .join()
                .item();
        assertThat(item.get("payload").s()).isEqualTo("hello");
        assertThat(proxy.count("PutItem")).isEqualTo(before + 1);
        assertThat(seen).anySatisfy(exchange -> {
            assertThat(exchange.operation()).isEqualTo("PutItem");
            assertThat(exchange.status()).isEqualTo(200);
            assertThat(exchange.requestBody()).contains("hello");
            assertThat(exchange.receivedNanos()).isPositive();
        });
        assertThat(seen)
                .anySatisfy(exchange -> assertThat(exchange.responseBody()).contains("hello"));
    }

    @Test
    void aThrottlingFaultIsARetryableThrottlingExceptionForTheSdk() {
        proxy.fault(request -> request.operation().equals("BatchWriteItem")
                ? DynamoDbProxy.Fault.error(400, "ProvisionedThroughputExceededException", "slow down")
                : null);
        long forwarded = proxy.count("BatchWriteItem");
        assertThatThrownBy(() -> withoutRetries
                        .batchWriteItem(b -> b.requestItems(Map.of(TABLE, puts("throttled", 3))))
                        .join())
                .isInstanceOf(CompletionException.class)
                .cause()
                .isInstanceOfSatisfying(ProvisionedThroughputExceededException.class, e -> {
                    assertThat(e.isThrottlingException()).isTrue();
                    assertThat(e.statusCode()).isEqualTo(400);
                    assertThat(e.getMessage()).contains("slow down");
                });
        assertThat(proxy.count("BatchWriteItem")).isEqualTo(forwarded);

        // Retryable: the SDK's own retries get through once the fault stops.
        AtomicInteger faults = new AtomicInteger();
        proxy.fault(request -> request.operation().equals("BatchWriteItem") && faults.getAndIncrement() == 0
                ? DynamoDbProxy.Fault.error(400, "ProvisionedThroughputExceededException", "slow down")
                : null);
        BatchWriteItemResponse response = withRetries
                .batchWriteItem(b -> b.requestItems(Map.of(TABLE, puts("retried", 2))))
                .join();
        assertThat(response.unprocessedItems()).isEmpty();
        assertThat(faults.get()).isEqualTo(2);
        assertThat(proxy.count("BatchWriteItem")).isEqualTo(forwarded + 1);
    }

    @Test
    void anInternalServerErrorIsA500() {
        proxy.fault(request -> request.operation().equals("PutItem")
                ? DynamoDbProxy.Fault.error(500, "InternalServerError", "broken")
                : null);
        assertThatThrownBy(() -> withoutRetries
                        .putItem(b -> b.tableName(TABLE).item(Map.of("msgid", s("x"))))
                        .join())
                .cause()
                .isInstanceOfSatisfying(DynamoDbException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(500);
                    assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InternalServerError");
                });
    }

    @Test
    void unprocessedLeavesTheLastItemsOutAndReturnsThem() {
        proxy.fault(
                request -> request.operation().equals("BatchWriteItem") ? DynamoDbProxy.Fault.unprocessed(2) : null);
        BatchWriteItemResponse response = withoutRetries
                .batchWriteItem(b -> b.requestItems(Map.of(TABLE, puts("partial", 5))))
                .join();
        List<WriteRequest> unprocessed = response.unprocessedItems().get(TABLE);
        assertThat(unprocessed)
                .extracting(w -> w.putRequest().item().get("msgid").s())
                .containsExactly("partial-3", "partial-4");
        proxy.fault(null);
        for (int i = 0; i < 5; i++) {
            String id = "partial-" + i;
            boolean stored = withoutRetries
                    .getItem(b -> b.tableName(TABLE).key(Map.of("msgid", s(id))))
                    .join()
                    .hasItem();
            assertThat(stored).as(id).isEqualTo(i < 3);
        }
    }

    @Test
    void aDelayedRequestIsForwarded() {
        proxy.fault(request ->
                request.operation().equals("PutItem") ? DynamoDbProxy.Fault.delay(Duration.ofMillis(300)) : null);
        long start = System.nanoTime();
        withoutRetries
                .putItem(b -> b.tableName(TABLE).item(Map.of("msgid", s("late"))))
                .join();
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(300_000_000L);
        proxy.fault(null);
        assertThat(withoutRetries
                        .getItem(b -> b.tableName(TABLE).key(Map.of("msgid", s("late"))))
                        .join()
                        .hasItem())
                .isTrue();
    }

    private static List<WriteRequest> puts(String prefix, int n) {
        List<WriteRequest> writes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            writes.add(WriteRequest.builder()
                    .putRequest(PutRequest.builder()
                            .item(Map.of("msgid", s(prefix + "-" + i), "payload", s("p" + i)))
                            .build())
                    .build());
        }
        return writes;
    }

    private static AttributeValue s(String value) {
        return AttributeValue.fromS(value);
    }

    static DynamoDbAsyncClient client(String endpoint, RetryStrategy retries) {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClientBuilder(NettyNioAsyncHttpClient.builder())
                .overrideConfiguration(o -> o.retryStrategy(retries))
                .build();
    }
}
