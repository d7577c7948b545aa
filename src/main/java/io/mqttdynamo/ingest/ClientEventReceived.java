package io.mqttdynamo.ingest;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * A CDI event fired synchronously for each client event as soon as it is decoded, before its writes, in the
 * order the broker reported them: for who must know what a client did before or after another of its events.
 */
public record ClientEventReceived(BrokerEvent event) {}
