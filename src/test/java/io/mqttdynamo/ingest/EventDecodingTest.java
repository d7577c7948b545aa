package io.mqttdynamo.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.mqttdynamo.domain.BrokerEvent;
import io.mqttdynamo.domain.EmqxMsgId;

class EventDecodingTest {

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void emqx5Connected() {
        var event = EmqxEventDecoder.decode(
                "$SYS/brokers/emqx@127.0.0.1/clients/mqttjs_34f653fdcc/connected",
                json("{\"username\":\"foo\",\"ts\":1563765246123,\"sockport\":1883,\"proto_ver\":5,"
                        + "\"keepalive\":60,\"ipaddress\":\"127.0.0.1\",\"connected_at\":1563765246120,"
                        + "\"clientid\":\"mqttjs_34f653fdcc\",\"clean_start\":true}"),
                0);
        assertThat(event)
                .contains(
                        new BrokerEvent.ClientConnected("mqttjs_34f653fdcc", "emqx@127.0.0.1", "foo", 1563765246120L));
    }

    @Test
    void emqx4ConnectedInSecondsAndDisconnected() {
        var connected = EmqxEventDecoder.decode(
                "$SYS/brokers/emqx@node1/clients/c1/connected",
                json("{\"clientid\":\"c1\",\"connected_at\":1563765246}"),
                0);
        assertThat(connected).contains(new BrokerEvent.ClientConnected("c1", "emqx@node1", null, 1563765246000L));
        var disconnected = EmqxEventDecoder.decode(
                "$SYS/brokers/emqx@node1/clients/c1/disconnected",
                json("{\"clientid\":\"c1\",\"reason\":\"normal\",\"ts\":1563765300000}"),
                0);
        assertThat(disconnected)
                .contains(new BrokerEvent.ClientDisconnected("c1", "emqx@node1", "normal", 1563765300000L));
    }

    @Test
    void subscribedCarriesTheFilterAndQos() {
        var event = EmqxEventDecoder.decode(
                "$SYS/brokers/n/clients/c1/subscribed",
                json("{\"clientid\":\"c1\",\"topic\":\"a/+/b\",\"subopts\":{\"qos\":2,\"nl\":0},\"ts\":1563765300000}"),
                0);
        assertThat(event).contains(new BrokerEvent.ClientSubscribed("c1", "a/+/b", 2, 1563765300000L));
        // EMQX 5 says when the session held the filter already (a subscription restored through its API).
        var renewed = EmqxEventDecoder.decode(
                "$SYS/brokers/n/clients/c1/subscribed",
                json("{\"clientid\":\"c1\",\"topic\":\"a/+/b\",\"subopts\":{\"qos\":1,\"is_new\":false},"
                        + "\"ts\":1563765300000}"),
                0);
        assertThat(renewed).contains(new BrokerEvent.ClientSubscribed("c1", "a/+/b", 1, 1563765300000L, false));
        var unsubscribed = EmqxEventDecoder.decode(
                "$SYS/brokers/n/clients/c1/unsubscribed",
                json("{\"clientid\":\"c1\",\"topic\":\"a/+/b\",\"ts\":1563765301000}"),
                0);
        assertThat(unsubscribed).contains(new BrokerEvent.ClientUnsubscribed("c1", "a/+/b", 1563765301000L));
    }

    @Test
    void emqx5RuleEngineClientEventsRepublishedAsJson() {
        // The columns of emqx_rule_events (EMQX 5) for SELECT * FROM "$events/client_connected", ...
        String topic = "mqtt-dynamo/events/client";
        var connected = EmqxEventDecoder.decode(
                topic,
                json("{\"event\":\"client.connected\",\"clientid\":\"c/1\","
                        + "\"username\":\"u\",\"proto_ver\":5,\"clean_start\":false,\"expiry_interval\":7200,"
                        + "\"connected_at\":1700000000100,\"timestamp\":1700000000105,\"node\":\"emqx@10.0.0.1\"}"),
                0);
        assertThat(connected).contains(new BrokerEvent.ClientConnected("c/1", "emqx@10.0.0.1", "u", 1700000000100L));
        var disconnected = EmqxEventDecoder.decode(
                topic,
                json("{\"event\":\"client.disconnected\",\"clientid\":\"c/1\","
                        + "\"reason\":\"normal\",\"disconnected_at\":1700000000200,\"timestamp\":1700000000201,"
                        + "\"node\":\"emqx@10.0.0.1\"}"),
                0);
        assertThat(disconnected)
                .contains(new BrokerEvent.ClientDisconnected("c/1", "emqx@10.0.0.1", "normal", 1700000000200L));
        var subscribed = EmqxEventDecoder.decode(
                topic,
                json("{\"event\":\"session.subscribed\",\"clientid\":\"c/1\","
                        + "\"topic\":\"a/#\",\"qos\":1,\"sub_props\":{},\"timestamp\":1700000000300,\"node\":\"n\"}"),
                0);
        assertThat(subscribed).contains(new BrokerEvent.ClientSubscribed("c/1", "a/#", 1, 1700000000300L));
        var unsubscribed = EmqxEventDecoder.decode(
                topic,
                json("{\"event\":\"session.unsubscribed\","
                        + "\"clientid\":\"c/1\",\"topic\":\"a/#\",\"qos\":1,\"timestamp\":1700000000400}"),
                0);
        assertThat(unsubscribed).contains(new BrokerEvent.ClientUnsubscribed("c/1", "a/#", 1700000000400L));

        assertThat(EmqxEventDecoder.decode(topic, json("{\"event\":\"client.connack\",\"clientid\":\"c\"}"), 0))
                .isEmpty();
        assertMalformed(() -> EmqxEventDecoder.decode(topic, json("{\"clientid\":\"c\"}"), 0), "missing_field");
        assertMalformed(
                () -> EmqxEventDecoder.decode(topic, json("{\"event\":\"client.connected\"}"), 0), "missing_field");
    }

    @Test
    void smallTimesAreSecondsAndMissingOnesTheReceiptTime() {
        var event = EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/unsubscribed",
                        json("{\"clientid\":\"c1\",\"topic\":\"t\",\"ts\":5000}"),
                        0)
                .orElseThrow();
        assertThat(((BrokerEvent.ClientUnsubscribed) event).atMillis()).isEqualTo(5_000_000L);
        var noTime = EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/unsubscribed", json("{\"clientid\":\"c1\",\"topic\":\"t\"}"), 42)
                .orElseThrow();
        assertThat(((BrokerEvent.ClientUnsubscribed) noTime).atMillis()).isEqualTo(42L);
    }

    @Test
    void clientIdsWithSlashesComeFromThePayloadOrTheWholeTopicMiddle() {
        var fromPayload = EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/a/b/connected", json("{\"clientid\":\"a/b\",\"ts\":1}"), 0)
                .orElseThrow();
        assertThat(fromPayload.clientId()).isEqualTo("a/b");
        var fromTopic = EmqxEventDecoder.decode("$SYS/brokers/n/clients/a/b/connected", json("{\"ts\":1}"), 0)
                .orElseThrow();
        assertThat(fromTopic.clientId()).isEqualTo("a/b");
    }

    @Test
    void otherEventKindsAreIgnoredAndBadOnesRefused() {
        assertThat(EmqxEventDecoder.decode("$SYS/brokers/n/clients/c/session_created", json("{}"), 0))
                .isEmpty();
        assertThatThrownBy(() -> EmqxEventDecoder.decode("$SYS/brokers/n/clients/c/connected", json("[1]"), 0))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("invalid_json"));
        assertThatThrownBy(() ->
                        EmqxEventDecoder.decode("$SYS/brokers/n/clients/c/subscribed", json("{\"clientid\":\"c\"}"), 0))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("missing_field"));
        assertThatThrownBy(() -> EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c/subscribed",
                        json("{\"clientid\":\"c\",\"topic\":\"t\",\"qos\":7}"),
                        0))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("invalid_qos"));
    }

    @Test
    void publishEnvelopeKeepsTheBrokersIdAndBinaryPayloads() {
        byte[] binary = {(byte) 0xff, 0, 1};
        var message = EnvelopeDecoder.message(
                json("{\"id\":\"00058E3CA4B23FBBF44300000D140001\","
                        + "\"clientid\":\"mqttjs_17137f2af0\",\"topic\":\"testtopic\",\"qos\":1,"
                        + "\"flags\":{\"retain\":true,\"dup\":false},\"payload\":\"ignored\",\"payload_b64\":\""
                        + Base64.getEncoder().encodeToString(binary) + "\",\"publish_received_at\":1563765995000}"),
                new EmqxMsgId(),
                0);
        assertThat(message.msgId()).isEqualTo("Mjg4NDYzOTExMTcxNzQ5MTQwMjU1NzgyMDgxNzU1ODczMjJ");
        assertThat(message.sender()).isEqualTo("mqttjs_17137f2af0");
        assertThat(message.retain()).isTrue();
        assertThat(message.qos()).isEqualTo(1);
        assertThat(message.payload()).isEqualTo(binary);
        assertThat(message.arrivedMillis()).isEqualTo(1563765995000L);
    }

    @Test
    void anAwsIotEnvelopeIdentifiedByAUuidGetsTheSameMsgIdWhenRedeliveredAndSortsByItsTime() {
        String envelope = "{\"id\":\"%s\",\"topic\":\"t\",\"payload_b64\":\"AQ==\",\"publish_received_at\":%d}";
        String uuid = "4f2c0a3e-8a7b-4c1d-9e2f-3a4b5c6d7e8f";
        var first = EnvelopeDecoder.message(json(envelope.formatted(uuid, 1_700_000_000_000L)), new EmqxMsgId(), 1);
        var redelivered =
                EnvelopeDecoder.message(json(envelope.formatted(uuid, 1_700_000_000_000L)), new EmqxMsgId(), 2);
        var other = EnvelopeDecoder.message(
                json(envelope.formatted("0b1e7c55-1d2e-4f30-8a91-b2c3d4e5f607", 1_700_000_000_000L)),
                new EmqxMsgId(),
                3);
        var later = EnvelopeDecoder.message(
                json(envelope.formatted("00000000-0000-4000-8000-000000000000", 1_700_000_000_001L)),
                new EmqxMsgId(),
                4);

        assertThat(redelivered.msgId()).isEqualTo(first.msgId());
        assertThat(other.msgId()).isNotEqualTo(first.msgId());
        assertThat(EmqxMsgId.timestampMicros(first.msgId())).isEqualTo(1_700_000_000_000_000L);
        assertThat(EmqxMsgId.OLDEST_FIRST.compare(first.msgId(), later.msgId())).isNegative();
        assertThat(EmqxMsgId.OLDEST_FIRST.compare(other.msgId(), later.msgId())).isNegative();
        assertMalformed(
                () -> EnvelopeDecoder.message(
                        json(envelope.formatted("4f2c0a3e-8a7b-4c1d-9e2f-3a4b5c6d7eXY", 1L)), new EmqxMsgId(), 0),
                "invalid_id");
    }

    @Test
    void publishEnvelopeWithoutIdGetsANewOneAndTextPayload() {
        var message = EnvelopeDecoder.message(
                json("{\"topic\":\"t\",\"payload\":\"héllo\",\"timestamp\":7}"), new EmqxMsgId(), 0);
        EmqxMsgId.decode(message.msgId());
        assertThat(new String(message.payload(), StandardCharsets.UTF_8)).isEqualTo("héllo");
        assertThat(message.qos()).isZero();
        assertThat(message.retain()).isFalse();
        assertThat(message.sender()).isEmpty();
    }

    @Test
    void ackEnvelope() {
        var ack = EnvelopeDecoder.ack(
                json("{\"id\":\"00058E3E862C90F8F440000012000001\","
                        + "\"clientid\":\"mqttjs_673dd52f4f\",\"from_clientid\":\"pub\",\"topic\":\"testtopic\",\"qos\":1,"
                        + "\"timestamp\":1563767000000}"),
                0);
        assertThat(ack)
                .isEqualTo(new BrokerEvent.MessageAcked(
                        "Mjg4NDY1NDAxMjczMzcyMjUwMjExOTc1MzY4MDY4MzAwODB",
                        "testtopic",
                        "mqttjs_673dd52f4f",
                        "pub",
                        1,
                        1563767000000L));
        assertThatThrownBy(() -> EnvelopeDecoder.ack(json("{\"id\":\"nothex\",\"topic\":\"t\",\"clientid\":\"c\"}"), 0))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("invalid_id"));
    }

    @Test
    void ackEnvelopeOfACopyNamesTheOriginalFromPubProps() {
        String envelope = "{\"id\":\"00058E3E862C90F8F440000012000001\",\"clientid\":\"sub\","
                + "\"from_clientid\":\"svc-republisher-1\",\"topic\":\"t\",\"qos\":1,\"pub_props\":%s}";
        assertThat(EnvelopeDecoder.ack(
                                json(String.format(
                                        envelope, "{\"User-Property\":{\"mqtt-dynamo-republished\":\"orig\"}}")),
                                0)
                        .republishedOf())
                .isEqualTo("orig");
        assertThat(EnvelopeDecoder.ack(
                                json(
                                        String.format(
                                                envelope,
                                                "{\"User-Property-Pairs\":[{\"key\":\"other\","
                                                        + "\"value\":\"x\"},{\"key\":\"mqtt-dynamo-republished\",\"value\":\"orig2\"}]}")),
                                0)
                        .republishedOf())
                .isEqualTo("orig2");
        assertThat(EnvelopeDecoder.ack(json(String.format(envelope, "{}")), 0).republishedOf())
                .isEmpty();
    }

    private static void assertMalformed(org.assertj.core.api.ThrowableAssert.ThrowingCallable decode, String reason) {
        assertThatThrownBy(decode)
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo(reason));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "2147483648",
                "1e400",
                "99999999999999999999999",
                "null",
                "true",
                "{}",
                "-1",
                "7",
                "1.5",
                "\"1\"",
                "[]"
            })
    void envelopeQosOtherThanZeroOneOrTwoIsMalformed(String qos) {
        assertMalformed(
                () -> EnvelopeDecoder.message(
                        json("{\"topic\":\"t\",\"payload\":\"p\",\"qos\":" + qos + "}"), new EmqxMsgId(), 0),
                "invalid_qos");
        assertMalformed(
                () -> EnvelopeDecoder.ack(
                        json("{\"id\":\"00058E3E862C90F8F440000012000001\","
                                + "\"clientid\":\"c\",\"topic\":\"t\",\"qos\":" + qos + "}"),
                        0),
                "invalid_qos");
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "1", "2"})
    void envelopeQosZeroOneAndTwoAreTaken(String qos) {
        var message = EnvelopeDecoder.message(json("{\"topic\":\"t\",\"qos\":" + qos + "}"), new EmqxMsgId(), 0);
        assertThat(message.qos()).isEqualTo(Integer.parseInt(qos));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-5", "-1000", "1.5", "\"soon\"", "null", "{}", "1e300", "99999999999999999999999"})
    void impossibleTimesAreMalformed(String time) {
        assertMalformed(
                () -> EnvelopeDecoder.message(
                        json("{\"topic\":\"t\",\"publish_received_at\":" + time + "}"), new EmqxMsgId(), 0),
                "invalid_time");
        assertMalformed(
                () -> EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/connected", json("{\"clientid\":\"c1\",\"ts\":" + time + "}"), 0),
                "invalid_time");
        assertMalformed(
                () -> EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/disconnected", json("{\"disconnected_at\":" + time + "}"), 0),
                "invalid_time");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e300", "\"x\"", "3", "-1", "null", "true"})
    void subscribedQosMustBeZeroOneOrTwo(String qos) {
        assertMalformed(
                () -> EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/subscribed",
                        json("{\"topic\":\"t\",\"subopts\":{\"qos\":" + qos + "}}"),
                        0),
                "invalid_qos");
    }

    @Test
    void theTopicsClientIdIsAuthoritative() {
        assertMalformed(
                () -> EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/victim/connected",
                        json("{\"clientid\":\"someone-else\",\"ts\":1563765246123}"),
                        0),
                "clientid_mismatch");
        var event = EmqxEventDecoder.decode(
                        "$SYS/brokers/n/clients/c1/subscribed", json("{\"topic\":\"t\",\"subopts\":{\"qos\":1}}"), 0)
                .orElseThrow();
        assertThat(event.clientId()).isEqualTo("c1");
    }
}
