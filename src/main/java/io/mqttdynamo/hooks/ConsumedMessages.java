package io.mqttdynamo.hooks;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The msgids whose first acknowledgement deleted their mqtt_msg item ({@code acks.delete-message}), most
 * recent {@value #CAPACITY} kept. Publish envelopes and ack envelopes come on different channels, so an ack
 * can be handled before its message: without this, the message's item would be stored after its deletion
 * and stay.
 */
final class ConsumedMessages {

    static final int CAPACITY = 10_000;

    private final Map<String, Boolean> recent = new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > CAPACITY;
        }
    };

    synchronized void consumed(String msgId) {
        recent.put(msgId, Boolean.TRUE);
    }

    synchronized boolean wasConsumed(String msgId) {
        return recent.containsKey(msgId);
    }
}
