package io.mqttdynamo.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.mqttdynamo.domain.ItemLimits;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.DeleteRequest;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnConsumedCapacity;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/** The DynamoDB requests that carry item writes: BatchWriteItem for puts and deletes, UpdateItem for the rest. */
final class WriteRequests {

    private WriteRequests() {}

    /** One BatchWriteItem for puts and deletes of different items. */
    static BatchWriteItemRequest batch(List<ItemWrite> writes) {
        Map<String, List<WriteRequest>> requests = new HashMap<>(4);
        for (ItemWrite write : writes) {
            WriteRequest request;
            if (write instanceof ItemWrite.Put put) {
                request = WriteRequest.builder()
                        .putRequest(PutRequest.builder().item(put.item()).build())
                        .build();
            } else if (write instanceof ItemWrite.Delete delete) {
                request = WriteRequest.builder()
                        .deleteRequest(DeleteRequest.builder().key(delete.key()).build())
                        .build();
            } else {
                throw new IllegalArgumentException(
                        "not a put or delete: " + write.getClass().getSimpleName());
            }
            requests.computeIfAbsent(write.table().tableName(), t -> new ArrayList<>())
                    .add(request);
        }
        return BatchWriteItemRequest.builder()
                .requestItems(requests)
                .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                .build();
    }

    /** The items (as {@link Tables#identity}) that DynamoDB left unprocessed. */
    static Set<String> unprocessed(BatchWriteItemResponse response) {
        if (!response.hasUnprocessedItems() || response.unprocessedItems().isEmpty()) {
            return Set.of();
        }
        Set<String> items = new HashSet<>();
        response.unprocessedItems().forEach((tableName, requests) -> {
            Tables table = Tables.byName(tableName);
            for (WriteRequest r : requests) {
                Map<String, AttributeValue> key = r.putRequest() != null
                        ? table.keyOf(r.putRequest().item())
                        : r.deleteRequest().key();
                items.add(table.identity(key));
            }
        });
        return items;
    }

    /**
     * The UpdateItem of a set change or conditional update; {@code writer} names this service's token
     * attribute on counter items ({@link #writerAttribute}).
     */
    static UpdateItemRequest update(ItemWrite write, String writer) {
        if (write instanceof ItemWrite.AddToSet add) {
            UpdateItemRequest.Builder addition =
                    setUpdate(add.table(), add.key(), "ADD", add.attribute(), add.values());
            List<String> conditions = new ArrayList<>();
            Map<String, String> names = new HashMap<>(Map.of("#set", add.attribute()));
            Map<String, AttributeValue> values =
                    new HashMap<>(Map.of(":values", AttributeValue.fromSs(List.copyOf(add.values()))));
            if (add.cap() > 0) {
                // Only while there is room: a full set fails the condition and is trimmed first. DynamoDB bills an
                // update by the larger of the item before and after, per started KB, so the set is kept small and
                // nothing is returned (a returned set would travel with every addition).
                conditions.add("(attribute_not_exists(#set) OR size(#set) <= :room)");
                values.put(
                        ":room",
                        AttributeValue.fromN(
                                Integer.toString(add.cap() - add.values().size())));
            }
            if (add.unlessIn() != null) {
                // Only while no value is marked there; a marked one fails the condition, and the item is read. An
                // addition folded from more values than an expression can name (a burst) asks for no mark at all.
                names.put("#unless", add.unlessIn());
                if (add.values().size() <= ItemLimits.CONDITIONED_SET_CHANGE_MAX) {
                    eachValue("NOT contains(#unless, %s)", ":unless", add.values(), conditions, values);
                } else {
                    conditions.add("attribute_not_exists(#unless)");
                }
            } else if (!add.then().isEmpty()) {
                // What follows is decided from the whole item after the addition (answers cost no capacity).
                addition.returnValues(ReturnValue.ALL_NEW);
            }
            if (!conditions.isEmpty()) {
                addition.conditionExpression(String.join(" AND ", conditions));
            }
            return addition.expressionAttributeNames(names)
                    .expressionAttributeValues(values)
                    .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                    .build();
        }
        if (write instanceof ItemWrite.RemoveFromSet remove) {
            UpdateItemRequest.Builder removal =
                    setUpdate(remove.table(), remove.key(), "DELETE", remove.attribute(), remove.values());
            if (!remove.then().isEmpty()) {
                // What follows is decided from the item as it was: held the values, or (the condition failed) read.
                // Nothing is returned: the set would travel with every acknowledgement.
                Map<String, AttributeValue> values =
                        new HashMap<>(Map.of(":values", AttributeValue.fromSs(List.copyOf(remove.values()))));
                List<String> conditions = new ArrayList<>();
                eachValue("contains(#set, %s)", ":member", remove.values(), conditions, values);
                removal.conditionExpression(String.join(" AND ", conditions)).expressionAttributeValues(values);
            }
            return removal.returnConsumedCapacity(ReturnConsumedCapacity.TOTAL).build();
        }
        if (write instanceof ItemWrite.Count count) {
            // ADD is not idempotent: a retry of a change DynamoDB applied without the answer arriving would count
            // twice. This writer's token of its last change, in an attribute of its own (other replicas change the
            // same item meanwhile), lets the retry fail its condition instead.
            return UpdateItemRequest.builder()
                    .tableName(count.table().tableName())
                    .key(count.key())
                    .updateExpression("ADD #known :known, #online :online SET #writer = :token")
                    .conditionExpression("attribute_not_exists(#writer) OR #writer <> :token")
                    .expressionAttributeNames(
                            Map.of("#known", Tables.Attr.KNOWN, "#online", Tables.Attr.ONLINE, "#writer", writer))
                    .expressionAttributeValues(Map.of(
                            ":known",
                            AttributeValue.fromN(Long.toString(count.known())),
                            ":online",
                            AttributeValue.fromN(Long.toString(count.online())),
                            ":token",
                            AttributeValue.fromS(count.token())))
                    .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                    .build();
        }
        if (write instanceof ItemWrite.ConditionalUpdate update) {
            String expression = update.updateExpression();
            String condition = update.conditionExpression();
            Map<String, String> names = update.names();
            Map<String, AttributeValue> values = update.values();
            if (update.presence() != null && expression.startsWith("SET ")) {
                // The update leaves its token and what it replaced on the item; a retry of an update DynamoDB
                // applied already fails its condition, and the pipeline counts it from what it replaced.
                expression = "SET #write_token = :write_token,"
                        + " #previous_shard = if_not_exists(#current_shard, :no_shard),"
                        + " #previous_state = if_not_exists(#current_state, :no_state), " + expression.substring(4);
                condition =
                        "(" + condition + ") AND (attribute_not_exists(#write_token) OR #write_token <> :write_token)";
                names = new HashMap<>(names);
                names.put("#write_token", Tables.Attr.WRITE_TOKEN);
                names.put("#previous_shard", Tables.Attr.PREVIOUS_CLIENT_SHARD);
                names.put("#previous_state", Tables.Attr.PREVIOUS_CONNECT_STATE);
                names.put("#current_shard", Tables.Attr.CLIENT_SHARD);
                names.put("#current_state", Tables.Attr.CONNECT_STATE);
                values = new HashMap<>(values);
                values.put(
                        ":write_token", AttributeValue.fromS(update.presence().token()));
                values.put(":no_shard", AttributeValue.fromS("-"));
                values.put(":no_state", AttributeValue.fromN("-1"));
            }
            return UpdateItemRequest.builder()
                    .tableName(update.table().tableName())
                    .key(update.key())
                    .updateExpression(expression)
                    .conditionExpression(condition)
                    .expressionAttributeNames(names)
                    .expressionAttributeValues(values)
                    // No old values in the answer means the update created the item.
                    .returnValues(ReturnValue.UPDATED_OLD)
                    .returnConsumedCapacity(ReturnConsumedCapacity.TOTAL)
                    .build();
        }
        throw new IllegalArgumentException("not an update: " + write.getClass().getSimpleName());
    }

    /**
     * One condition per value: {@code format} with the value's placeholder ({@code prefix} and its index), the
     * value bound to it. A condition names at most {@link ItemLimits#CONDITIONED_SET_CHANGE_MAX} values.
     */
    private static void eachValue(
            String format,
            String prefix,
            Set<String> setValues,
            List<String> conditions,
            Map<String, AttributeValue> values) {
        int i = 0;
        for (String value : setValues) {
            String placeholder = prefix + i++;
            conditions.add(String.format(format, placeholder));
            values.put(placeholder, AttributeValue.fromS(value));
        }
    }

    /**
     * The counter items' attribute for one writer's token, from its stable identity (the client id base): one
     * short attribute per replica, never one per process start.
     */
    static String writerAttribute(String writerIdentity) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(writerIdentity.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return Tables.Attr.WRITER_TOKEN_PREFIX + Long.toHexString(crc.getValue());
    }

    private static UpdateItemRequest.Builder setUpdate(
            Tables table, Map<String, AttributeValue> key, String action, String attribute, Set<String> values) {
        return UpdateItemRequest.builder()
                .tableName(table.tableName())
                .key(key)
                .updateExpression(action + " #set :values")
                .expressionAttributeNames(Map.of("#set", attribute))
                .expressionAttributeValues(Map.of(":values", AttributeValue.fromSs(List.copyOf(values))));
    }
}
