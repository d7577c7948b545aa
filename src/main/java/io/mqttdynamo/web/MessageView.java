package io.mqttdynamo.web;

import java.util.Arrays;

import io.mqttdynamo.domain.Payloads;
import io.mqttdynamo.store.Rows;

/** A stored message as pages and the API show it. */
public record MessageView(
        String msgId, String topic, int qos, String sender, boolean retain, long arrivedMillis, PayloadView payload) {

    /**
     * Bytes of a payload a listing carries (the first ones, cut between characters when it is text): a page of
     * 25 messages of up to 350 KB each would be megabytes. The same as the recent messages keep in memory.
     */
    public static final int LISTED_PAYLOAD_BYTES = RecentActivity.PREVIEW_BYTES;

    /** The message whole, as its own page and endpoint show it. */
    static MessageView of(Rows.Message m) {
        return new MessageView(
                m.msgId(),
                m.topic(),
                m.qos(),
                m.sender(),
                m.retain(),
                m.arrived(),
                PayloadView.of(m.payload(), m.payloadSize(), m.binary(), m.truncated()));
    }

    /** The message in a listing: at most {@value #LISTED_PAYLOAD_BYTES} bytes of its payload ({@code previewCut}). */
    static MessageView listed(Rows.Message m) {
        byte[] payload = m.payload();
        if (payload != null && payload.length > LISTED_PAYLOAD_BYTES) {
            int keep = m.binary() ? LISTED_PAYLOAD_BYTES : Payloads.utf8Prefix(payload, LISTED_PAYLOAD_BYTES);
            payload = Arrays.copyOf(payload, keep);
        }
        return new MessageView(
                m.msgId(),
                m.topic(),
                m.qos(),
                m.sender(),
                m.retain(),
                m.arrived(),
                PayloadView.of(payload, m.payloadSize(), m.binary(), m.truncated()));
    }

    static MessageView of(RecentActivity.StoredMessage m) {
        return new MessageView(
                m.msgId(),
                m.topic(),
                m.qos(),
                m.sender(),
                m.retain(),
                m.arrivedMillis(),
                PayloadView.of(m.payloadStart(), m.payloadSize(), m.binary(), m.leftOut()));
    }
}
