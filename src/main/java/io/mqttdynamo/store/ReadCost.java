package io.mqttdynamo.store;

import jakarta.enterprise.context.ApplicationScoped;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import software.amazon.awssdk.services.dynamodb.model.ConsumedCapacity;

/** What the dashboard's and the API's reads cost: read capacity units and items read. */
@ApplicationScoped
public class ReadCost {

    private final Counter readUnits;
    private final Counter itemsRead;

    public ReadCost(MeterRegistry registry) {
        this.readUnits = Counter.builder("mqtt_dynamo_read_capacity_units")
                .description("Read capacity units consumed by the dashboard's and the API's reads").register(registry);
        this.itemsRead = Counter.builder("mqtt_dynamo_items_read")
                .description("Items DynamoDB read for the dashboard and the API (scanned or fetched)")
                .register(registry);
    }

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
