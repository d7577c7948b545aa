package io.mqttdynamo.support;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.mqttdynamo.store.Tables;
import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;

/** Creates the service's tables on a fresh local DynamoDB server and waits until they take requests. */
public final class TestTables {

    private TestTables() {
    }

    /** Creates {@code tables} (all when none named) and returns once each is ACTIVE. */
    public static void create(DynamoDbAsyncClient dynamo, Tables... tables) throws Exception {
        Tables[] all = tables.length == 0 ? Tables.values() : tables;
        for (Tables table : all) {
            dynamo.createTable(table.createRequest()).get(10, TimeUnit.SECONDS);
        }
        for (Tables table : all) {
            // A created table refuses requests (ResourceNotFoundException) until it is ACTIVE.
            await().atMost(Duration.ofSeconds(10)).until(() -> dynamo.describeTable(b -> b.tableName(
                    table.tableName())).join().table().tableStatus() == TableStatus.ACTIVE);
        }
    }
}
