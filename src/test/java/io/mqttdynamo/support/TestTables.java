package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.mqttdynamo.store.Tables;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;

/**
 * The service's tables on a fresh local DynamoDB server (created, and waited for until they take requests), and
 * the client that tests of the write pipeline use.
 */
public final class TestTables {

    private TestTables() {}

    /** A client of the local server at {@code endpoint} without retries of the SDK's own: the service's are tested. */
    public static DynamoDbAsyncClient client(String endpoint) {
        return DynamoDbAsyncClient.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_WEST_2)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .overrideConfiguration(o -> o.retryStrategy(RetryMode.STANDARD).retryStrategy(b -> b.maxAttempts(1)))
                .build();
    }

    /** Creates {@code tables} (all when none named) and returns once each is ACTIVE. */
    public static void create(DynamoDbAsyncClient dynamo, Tables... tables) throws Exception {
        Tables[] all = tables.length == 0 ? Tables.values() : tables;
        for (Tables table : all) {
            dynamo.createTable(table.createRequest()).get(10, TimeUnit.SECONDS);
        }
        for (Tables table : all) {
            // A created table refuses requests (ResourceNotFoundException) until it is ACTIVE.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> dynamo.describeTable(b -> b.tableName(table.tableName()))
                                    .join()
                                    .table()
                                    .tableStatus()
                            == TableStatus.ACTIVE);
        }
    }
}
