package io.mqttdynamo.support;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/** Reads the tables back in tests (blocking is fine in a test thread). */
public final class TableReader {

    private final DynamoDbAsyncClient dynamo;

    public TableReader(DynamoDbAsyncClient dynamo) {
        this.dynamo = dynamo;
    }

    /** The item with the given key (name, value pairs of strings), if there is one. */
    public Optional<Map<String, AttributeValue>> item(String table, String... keyPairs) {
        Map<String, AttributeValue> key = new java.util.HashMap<>();
        for (int i = 0; i < keyPairs.length; i += 2) {
            key.put(keyPairs[i], AttributeValue.fromS(keyPairs[i + 1]));
        }
        try {
            var response = dynamo.getItem(b -> b.tableName(table).key(key).consistentRead(true))
                    .get(10, TimeUnit.SECONDS);
            return response.hasItem() && !response.item().isEmpty() ? Optional.of(response.item()) : Optional.empty();
        } catch (Exception e) {
            throw new IllegalStateException("GetItem on " + table + " failed: " + e.getMessage(), e);
        }
    }

    /** Every item of a table (test tables are small). */
    public List<Map<String, AttributeValue>> scan(String table) {
        try {
            return dynamo.scan(b -> b.tableName(table))
                    .get(10, TimeUnit.SECONDS)
                    .items();
        } catch (Exception e) {
            throw new IllegalStateException("Scan of " + table + " failed: " + e.getMessage(), e);
        }
    }

    /** How many items a table holds (a paged Scan that counts). */
    public long count(String table) {
        try {
            long count = 0;
            Map<String, AttributeValue> start = null;
            do {
                Map<String, AttributeValue> from = start;
                var page = dynamo.scan(b -> b.tableName(table).select("COUNT").exclusiveStartKey(from))
                        .get(30, TimeUnit.SECONDS);
                count += page.count();
                start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty()
                        ? page.lastEvaluatedKey()
                        : null;
            } while (start != null);
            return count;
        } catch (Exception e) {
            throw new IllegalStateException("Scan of " + table + " failed: " + e.getMessage(), e);
        }
    }

    /** The msgids of a topic in mqtt_topic_msg_map. */
    public List<String> topicMsgIds(String topic) {
        return item("mqtt_topic_msg_map", "topic", topic)
                .map(i -> i.get("MsgId") == null
                        ? List.<String>of()
                        : i.get("MsgId").ss())
                .orElse(List.of());
    }
}
