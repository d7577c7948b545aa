package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.s;
import static io.mqttdynamo.store.Attributes.str;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.config.MqttDynamoConfig;
import io.mqttdynamo.config.MqttDynamoConfig.TimeUnitSetting;
import io.mqttdynamo.store.Tables.Attr;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;

/**
 * Reads of mqtt_retain: listings and single topics for the dashboard and the API, and for on_retain_lookup's
 * comparison with the broker's retained set, consistent reads of up to 100 topics at a time and a Scan of its
 * topics.
 */
@ApplicationScoped
public class RetainedReads {

    private final Reads reads;
    private final Reads deliveryReads;
    private final TimeUnitSetting timeUnit;

    public RetainedReads(DynamoDbAsyncClient dynamo, ReadCost cost, MqttDynamoConfig config) {
        this.reads = Reads.metered(dynamo, cost);
        this.deliveryReads = Reads.unmetered(dynamo, cost);
        this.timeUnit = config.timeUnit();
    }

    /** Retained messages whose topic passes {@code topicFilter}. */
    public Uni<Rows.Page<Rows.Message>> retained(Predicate<String> topicFilter, String cursor, int limit) {
        return reads.listing(Tables.RETAIN, item -> topicFilter.test(str(item, Attr.TOPIC)), cursor, limit)
                .map(page ->
                        new Rows.Page<>(page.items().stream().map(this::message).toList(), page.next()));
    }

    public Uni<Optional<Rows.Message>> retainedOf(String topic) {
        return reads.get(Tables.RETAIN, Map.of(Attr.TOPIC, s(topic)), false).map(item -> item.map(this::message));
    }

    /** Which of {@code topics} (at most 100, no two alike) have a row (consistent, the key only). */
    public Uni<Set<String>> present(List<String> topics) {
        return deliveryReads
                .batchGet(Tables.RETAIN, keys(topics), true, Attr.TOPIC)
                .map(items -> items.stream().map(item -> str(item, Attr.TOPIC)).collect(Collectors.toSet()));
    }

    /** The msgid of each of {@code topics} that has a row ("" for a row without one; consistent). */
    public Uni<Map<String, String>> msgIds(List<String> topics) {
        return deliveryReads
                .batchGet(Tables.RETAIN, keys(topics), true, Attr.TOPIC, Attr.MSGID)
                .map(items -> {
                    Map<String, String> msgIds = new HashMap<>();
                    items.forEach(item -> msgIds.put(str(item, Attr.TOPIC), str(item, Attr.MSGID)));
                    return msgIds;
                });
    }

    /** The rows of {@code topics} that exist (at most 100, no two alike; consistent). */
    public Uni<List<Rows.Message>> rows(List<String> topics) {
        return deliveryReads
                .batchGet(Tables.RETAIN, keys(topics), true)
                .map(items -> items.stream().map(this::message).toList());
    }

    /** Every topic with a row, read as they are taken (a Scan of the key only). */
    public Multi<String> topics() {
        return deliveryReads
                .scanAll(ScanRequest.builder()
                        .tableName(Tables.RETAIN.tableName())
                        .projectionExpression("#t")
                        .expressionAttributeNames(Map.of("#t", Attr.TOPIC)))
                .map(item -> str(item, Attr.TOPIC));
    }

    /**
     * The keys of {@code topics} that can be keys at all: a topic over DynamoDB's partition key limit (2,048 bytes)
     * has no row, and BatchGetItem would refuse the whole request for it.
     */
    private static List<Map<String, AttributeValue>> keys(List<String> topics) {
        return topics.stream()
                .filter(topic -> KeyLimits.fits(topic, KeyLimits.PARTITION_KEY_MAX_BYTES))
                .map(topic -> Map.of(Attr.TOPIC, s(topic)))
                .toList();
    }

    private Rows.Message message(Map<String, AttributeValue> item) {
        return Rows.Message.from(item, timeUnit);
    }
}
