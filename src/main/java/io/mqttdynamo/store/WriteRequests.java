package io.mqttdynamo.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.DeleteRequest;
import software.amazon.awssdk.services.dynamodb.model.PutRequest;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;

/** The DynamoDB requests that carry item writes: BatchWriteItem for puts and deletes, UpdateItem for the rest. */
final class WriteRequests {

    private WriteRequests() {
    }

    /** One BatchWriteItem for puts and deletes of different items. */
    static BatchWriteItemRequest batch(List<ItemWrite> writes) {
        Map<String, List<WriteRequest>> requests = new HashMap<>(4);
        for (ItemWrite write : writes) {
            WriteRequest request;
            if (write instanceof ItemWrite.Put put) {
                request = WriteRequest.builder().putRequest(PutRequest.builder().item(put.item()).build()).build();
            } else if (write instanceof ItemWrite.Delete delete) {
                request = WriteRequest.builder().deleteRequest(DeleteRequest.builder().key(delete.key()).build())
                        .build();
            } else {
                throw new IllegalArgumentException("not a put or delete: " + write.getClass().getSimpleName());
            }
            requests.computeIfAbsent(write.table().tableName(), t -> new ArrayList<>()).add(request);
        }
        return BatchWriteItemRequest.builder().requestItems(requests).build();
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
                        ? table.keyOf(r.putRequest().item()) : r.deleteRequest().key();
                items.add(table.identity(key));
            }
        });
        return items;
    }

    /** The UpdateItem of a set change or conditional update. */
    static UpdateItemRequest update(ItemWrite write) {
        if (write instanceof ItemWrite.AddToSet add) {
            UpdateItemRequest.Builder addition = setUpdate(add.table(), add.key(), "ADD", add.attribute(), add.values());
            // With a cap, the set after the addition tells whether it must be trimmed; what follows an addition
            // is decided from the whole item (answers cost no capacity).
            return (!add.then().isEmpty() ? addition.returnValues(ReturnValue.ALL_NEW)
                    : add.cap() > 0 ? addition.returnValues(ReturnValue.UPDATED_NEW) : addition).build();
        }
        if (write instanceof ItemWrite.RemoveFromSet remove) {
            UpdateItemRequest.Builder removal = setUpdate(remove.table(), remove.key(), "DELETE", remove.attribute(),
                    remove.values());
            return (remove.then().isEmpty() ? removal : removal.returnValues(ReturnValue.ALL_OLD)).build();
        }
        if (write instanceof ItemWrite.Count count) {
            return UpdateItemRequest.builder()
                    .tableName(count.table().tableName())
                    .key(count.key())
                    .updateExpression("ADD #known :known, #online :online")
                    .expressionAttributeNames(Map.of("#known", Tables.Attr.KNOWN, "#online", Tables.Attr.ONLINE))
                    .expressionAttributeValues(Map.of(":known", AttributeValue.fromN(Long.toString(count.known())),
                            ":online", AttributeValue.fromN(Long.toString(count.online()))))
                    .build();
        }
        if (write instanceof ItemWrite.ConditionalUpdate update) {
            return UpdateItemRequest.builder()
                    .tableName(update.table().tableName())
                    .key(update.key())
                    .updateExpression(update.updateExpression())
                    .conditionExpression(update.conditionExpression())
                    .expressionAttributeNames(update.names())
                    .expressionAttributeValues(update.values())
                    // No old values in the answer means the update created the item.
                    .returnValues(ReturnValue.UPDATED_OLD)
                    .build();
        }
        throw new IllegalArgumentException("not an update: " + write.getClass().getSimpleName());
    }

    private static UpdateItemRequest.Builder setUpdate(Tables table, Map<String, AttributeValue> key, String action,
            String attribute, Set<String> values) {
        return UpdateItemRequest.builder()
                .tableName(table.tableName())
                .key(key)
                .updateExpression(action + " #set :values")
                .expressionAttributeNames(Map.of("#set", attribute))
                .expressionAttributeValues(Map.of(":values", AttributeValue.fromSs(List.copyOf(values))));
    }
}
