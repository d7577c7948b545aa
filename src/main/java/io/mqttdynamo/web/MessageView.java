package io.mqttdynamo.web;

import io.mqttdynamo.web.RecentActivity;
import io.mqttdynamo.store.Rows;

/** A stored message as pages and the API show it. */
public record MessageView(String msgId, String topic, int qos, String sender, boolean retain, long arrivedMillis,
        PayloadView payload) {

    static MessageView of(Rows.Message m) {
        return new MessageView(m.msgId(), m.topic(), m.qos(), m.sender(), m.retain(), m.arrived(),
                PayloadView.of(m.payload(), m.payloadSize(), m.binary(), m.truncated()));
    }

    static MessageView of(RecentActivity.StoredMessage m) {
        return new MessageView(m.msgId(), m.topic(), m.qos(), m.sender(), m.retain(), m.arrivedMillis(),
                PayloadView.of(m.payloadStart(), m.payloadSize(), m.binary(), m.leftOut()));
    }
}
