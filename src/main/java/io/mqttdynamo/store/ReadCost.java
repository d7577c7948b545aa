package io.mqttdynamo.store;

import java.util.HashMap;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

import software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity;

/**
 * What reads cost: the read units DynamoDB reports for every read, per table ({@code
 * mqtt_dynamo_consumed_read_units_total{table}}), and for the dashboard's and the API's reads apart, their read
 * units and items read.
 */
@ApplicationScoped
public class ReadCost {

    private final Counter readUnits;
    private final Counter itemsRead;
    private final Map<String, Counter> consumedByTable = new HashMap<>();

    public ReadCost(MeterRegistry registry) {
        for (Tables table : Tables.values()) {
            consumedByTable.put(
                    table.tableName(),
                    Counter.builder("mqtt_dynamo_consumed_read_units")
                            .description(
                                    "Read units DynamoDB reported for the service's reads (ReturnConsumedCapacity)")
                            .tag("table", table.tableName())
                            .register(registry));
        }
        this.readUnits = Counter.builder("mqtt_dynamo_read_capacity_units")
                .description("Read capacity units consumed by the dashboard's and the API's reads")
                .register(registry);
        this.itemsRead = Counter.builder("mqtt_dynamo_items_read")
                .description("Items DynamoDB read for the dashboard and the API (scanned or fetched)")
                .register(registry);
    }

    /** Any read's cost, by the table DynamoDB names. */
    void consumed(ConsumedCapacity consumed) {
        if (consumed != null && consumed.capacityUnits() != null && consumed.tableName() != null) {
            Counter counter = consumedByTable.get(consumed.tableName());
            if (counter != null) {
                counter.increment(consumed.capacityUnits());
            }
        }
    }

    /** A dashboard's or API's read's cost. */
    void capacity(ConsumedCapacity consumed) {
        if (consumed != null && consumed.capacityUnits() != null) {
            readUnits.increment(consumed.capacityUnits());
        }
    }

    void items(Integer items) {
        if (items != null) {
            itemsRead.increment(items);
        }
    }
}
