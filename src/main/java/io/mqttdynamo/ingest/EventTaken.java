package io.mqttdynamo.ingest;

import io.mqttdynamo.domain.BrokerEvent;

/**
 * A CDI event fired once a broker event is done with: its writes stored (or it had none) and its message
 * acknowledged. For work that reads the tables back and must not hold up the event stream.
 */
public record EventTaken(BrokerEvent event) {}
