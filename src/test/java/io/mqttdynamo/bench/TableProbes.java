package io.mqttdynamo.bench;

import java.util.Arrays;
import java.util.Map;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

/** What the tables hold after a run, read with full scans: the run's messages, the MsgId sets' entries. */
final class TableProbes {

    private TableProbes() {}

    /** Members of the {@code MsgId} sets of {@code table}, all items together. */
    static long setEntries(DynamoDbAsyncClient db, String table) {
        long entries = 0;
        Map<String, AttributeValue> startKey = null;
        do {
            ScanRequest.Builder request = ScanRequest.builder().tableName(table).projectionExpression("MsgId");
            if (startKey != null) {
                request.exclusiveStartKey(startKey);
            }
            ScanResponse page = db.scan(request.build()).join();
            for (Map<String, AttributeValue> item : page.items()) {
                AttributeValue set = item.get("MsgId");
                entries += set != null && set.hasSs() ? set.ss().size() : 0;
            }
            startKey =
                    page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (startKey != null);
        return entries;
    }

    /**
     * {distinct sequence numbers below {@code messages} (this run's messages), their items, other items} in
     * mqtt_msg.
     */
    static long[] distinctSeqs(DynamoDbAsyncClient db, int messages) {
        int[] seen = new int[messages];
        long items = 0;
        long foreign = 0;
        Map<String, AttributeValue> startKey = null;
        do {
            ScanRequest.Builder request = ScanRequest.builder()
                    .tableName("mqtt_msg")
                    .projectionExpression("#p")
                    .expressionAttributeNames(Map.of("#p", "payload"));
            if (startKey != null) {
                request.exclusiveStartKey(startKey);
            }
            ScanResponse page = db.scan(request.build()).join();
            for (Map<String, AttributeValue> item : page.items()) {
                long seq = seq(item.get("payload"));
                if (seq >= 0 && seq < messages) {
                    seen[(int) seq]++;
                    items++;
                } else {
                    foreign++;
                }
            }
            startKey =
                    page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (startKey != null);
        return new long[] {Arrays.stream(seen).filter(n -> n > 0).count(), items, foreign};
    }

    /** The sequence number a benchmark payload carries; -1 for another payload. */
    static long seq(AttributeValue payload) {
        if (payload == null || payload.s() == null) {
            return -1;
        }
        String text = payload.s();
        int at = text.indexOf("\"seq\":");
        if (at < 0) {
            return -1;
        }
        int from = at + 6;
        int to = from;
        while (to < text.length() && Character.isDigit(text.charAt(to))) {
            to++;
        }
        return to > from ? Long.parseLong(text.substring(from, to)) : -1;
    }
}
