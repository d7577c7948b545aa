package io.mqttdynamo.store;

import static io.mqttdynamo.store.Attributes.s;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import jakarta.enterprise.context.ApplicationScoped;

import io.mqttdynamo.store.Tables.Attr;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;

import software.amazon.awssdk.services.dynamodb.DynamoDbAsyncClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;

/**
 * Reads of mqtt_sub: a client's subscriptions and the subscribers of a filter for the dashboard and the API
 * (Queries of the table and of its topic index), filtered listings, and a client's stored subscriptions for
 * on_subscribe_lookup.
 */
@ApplicationScoped
public class SubscriptionReads {

    /** Subscriptions of one client the dashboard shows at most. */
    private static final int OF_CLIENT_SHOWN = 500;

    private final Reads reads;
    private final Reads deliveryReads;

    public SubscriptionReads(DynamoDbAsyncClient dynamo, ReadCost cost) {
        this.reads = Reads.metered(dynamo, cost);
        this.deliveryReads = Reads.unmetered(dynamo, cost);
    }

    /** A client's subscriptions (a query on the hash key). */
    public Uni<List<Rows.Subscription>> subscriptionsOf(String clientId) {
        return reads.query(ofClient(clientId).limit(OF_CLIENT_SHOWN))
                .map(response ->
                        response.items().stream().map(Rows.Subscription::from).toList());
    }

    /**
     * Subscriptions of the client {@code q} (a Query of mqtt_sub), then those to the filter {@code q} (a
     * Query of the topic index): what is read is what is shown. The cursor says which of the two it is in.
     */
    public Uni<Rows.Page<Rows.Subscription>> subscriptionsLookup(String q, String cursor, int limit) {
        boolean byTopic = cursor != null && cursor.startsWith("t");
        Map<String, AttributeValue> start = null;
        if (cursor != null && !cursor.isEmpty()) {
            if (!(cursor.startsWith("c.") || cursor.startsWith("t.") || cursor.equals("t"))) {
                throw new IllegalArgumentException(Cursor.INVALID);
            }
            start = cursor.length() > 2 ? Cursor.decode(Tables.SUB, cursor.substring(2)) : null;
        }
        if (byTopic) {
            return subscribersOf(q, start, limit);
        }
        QueryRequest.Builder request = ofClient(q).limit(limit);
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return reads.query(request).flatMap(response -> {
            List<Rows.Subscription> items =
                    response.items().stream().map(Rows.Subscription::from).toList();
            boolean more = response.hasLastEvaluatedKey()
                    && !response.lastEvaluatedKey().isEmpty();
            if (more) {
                return Uni.createFrom().item(new Rows.Page<>(items, "c." + Cursor.encode(response.lastEvaluatedKey())));
            }
            if (items.size() >= limit) {
                return Uni.createFrom().item(new Rows.Page<>(items, "t"));
            }
            return subscribersOf(q, null, limit - items.size()).map(rest -> {
                List<Rows.Subscription> all = new ArrayList<>(items);
                all.addAll(rest.items());
                return new Rows.Page<>(all, rest.next());
            });
        });
    }

    /** Subscriptions to exactly the filter {@code topic} by other clients than one named {@code topic}. */
    private Uni<Rows.Page<Rows.Subscription>> subscribersOf(
            String topic, Map<String, AttributeValue> start, int limit) {
        QueryRequest.Builder request = QueryRequest.builder()
                .tableName(Tables.SUB.tableName())
                .indexName(Indexes.SUB_BY_TOPIC)
                .keyConditionExpression("#t = :t")
                .expressionAttributeNames(Map.of("#t", Attr.TOPIC))
                .expressionAttributeValues(Map.of(":t", s(topic)))
                .limit(limit);
        if (start != null) {
            request.exclusiveStartKey(start);
        }
        return reads.query(request)
                .map(response -> new Rows.Page<>(
                        // the client's own subscription to it was listed with the client's (a query may not
                        // filter on key attributes, so it is left out here)
                        response.items().stream()
                                .map(Rows.Subscription::from)
                                .filter(sub -> !sub.clientId().equals(topic))
                                .toList(),
                        response.hasLastEvaluatedKey()
                                        && !response.lastEvaluatedKey().isEmpty()
                                ? "t." + Cursor.encode(response.lastEvaluatedKey())
                                : null));
    }

    /** Subscriptions whose filter passes {@code keep}. */
    public Uni<Rows.Page<Rows.Subscription>> subscriptions(
            Predicate<Rows.Subscription> keep, String cursor, int limit) {
        return reads.listing(Tables.SUB, item -> keep.test(Rows.Subscription.from(item)), cursor, limit)
                .map(page -> new Rows.Page<>(
                        page.items().stream().map(Rows.Subscription::from).toList(), page.next()));
    }

    /**
     * Every stored subscription of a client, read as they are taken (consistent Query pages, the client id,
     * filter and QoS only), for restoring them on the broker.
     */
    public Multi<Rows.Subscription> stored(String clientId) {
        return deliveryReads
                .queryAll(ofClient(clientId)
                        .expressionAttributeNames(Map.of("#c", Attr.CLIENTID, "#t", Attr.TOPIC, "#q", Attr.QOS))
                        .projectionExpression("#c, #t, #q")
                        .consistentRead(true))
                .map(Rows.Subscription::from);
    }

    private static QueryRequest.Builder ofClient(String clientId) {
        return QueryRequest.builder()
                .tableName(Tables.SUB.tableName())
                .keyConditionExpression("#c = :c")
                .expressionAttributeNames(Map.of("#c", Attr.CLIENTID))
                .expressionAttributeValues(Map.of(":c", s(clientId)));
    }
}
