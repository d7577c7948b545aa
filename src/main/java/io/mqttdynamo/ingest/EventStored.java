package io.mqttdynamo.ingest;

import io.mqttdynamo.domain.BrokerEvent;

/** A CDI event fired once the writes of a broker event are stored, for whoever shows recent activity. */
public record EventStored(BrokerEvent event) {}
