package io.mqttdynamo.ingest;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * A CDI event fired synchronously for each client event as soon as it is decoded, before its writes, in the order
 * the broker reported the events: for work that must know what a client did before or after another of its
 * events. Fired for every decoded event, also one whose writes are refused later or that the broker redelivers.
 */
public record ClientEventReceived(BrokerEvent event) {}
