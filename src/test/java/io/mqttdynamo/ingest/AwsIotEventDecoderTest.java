package io.mqttdynamo.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.mqttdynamo.domain.BrokerEvent;

class AwsIotEventDecoderTest {

    private static byte[] json(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void connectedAsAwsDocumentsIt() {
        var events = AwsIotEventDecoder.decode(
                "$aws/events/presence/connected/186b5",
                json("{\"clientId\":\"186b5\",\"timestamp\":1573002230757,\"eventType\":\"connected\","
                        + "\"sessionIdentifier\":\"a4666d2a7d844ae4ac5d7b38c9cb7967\","
                        + "\"principalIdentifier\":\"12345678901234567890123456789012\","
                        + "\"ipAddress\":\"192.0.2.0\",\"versionNumber\":0}"),
                1,
                "iot-eu");
        assertThat(events).containsExactly(new BrokerEvent.ClientConnected("186b5", "iot-eu", null, 1573002230757L, 0));
    }

    @Test
    void disconnectedCarriesReasonAndVersion() {
        var events = AwsIotEventDecoder.decode(
                "$aws/events/presence/disconnected/186b5",
                json("{\"clientId\":\"186b5\",\"timestamp\":1573002340451,\"eventType\":\"disconnected\","
                        + "\"sessionIdentifier\":\"a4666d2a7d844ae4ac5d7b38c9cb7967\","
                        + "\"principalIdentifier\":\"12345678901234567890123456789012\","
                        + "\"clientInitiatedDisconnect\":true,\"disconnectReason\":\"CLIENT_INITIATED_DISCONNECT\","
                        + "\"versionNumber\":7}"),
                1,
                "iot-eu");
        assertThat(events)
                .containsExactly(new BrokerEvent.ClientDisconnected(
                        "186b5", "iot-eu", "CLIENT_INITIATED_DISCONNECT", 1573002340451L, 7));
    }

    @Test
    void subscribedGivesOneRowPerTopicWithQosZero() {
        var events = AwsIotEventDecoder.decode(
                "$aws/events/subscriptions/subscribed/186b5",
                json("{\"clientId\":\"186b5\",\"timestamp\":1460065214626,\"eventType\":\"subscribed\","
                        + "\"sessionIdentifier\":\"00000000-0000-0000-0000-000000000000\","
                        + "\"principalIdentifier\":\"000000000000/ABCDEFGHIJKLMNOPQRSTU:some-user/ABCDEFGHIJKLMNOPQRSTU:some-user\","
                        + "\"topics\":[\"foo/bar\",\"device/data\",\"dog/cat/+\"]}"),
                1,
                "n");
        assertThat(events)
                .containsExactly(
                        new BrokerEvent.ClientSubscribed("186b5", "foo/bar", 0, 1460065214626L),
                        new BrokerEvent.ClientSubscribed("186b5", "device/data", 0, 1460065214626L),
                        new BrokerEvent.ClientSubscribed("186b5", "dog/cat/+", 0, 1460065214626L));
        var unsubscribed = AwsIotEventDecoder.decode(
                "$aws/events/subscriptions/unsubscribed/186b5",
                json("{\"clientId\":\"186b5\",\"timestamp\":1460065214627,\"eventType\":\"unsubscribed\","
                        + "\"topics\":[\"foo/bar\"]}"),
                1,
                "n");
        assertThat(unsubscribed)
                .containsExactly(new BrokerEvent.ClientUnsubscribed("186b5", "foo/bar", 1460065214627L));
    }

    @Test
    void theClientIdComesFromTheTopicWhenThePayloadLacksItAndTopicsMayBeRepublished() {
        var events = AwsIotEventDecoder.decode(
                "rules/out/$aws/events/presence/connected/a/b", json("{\"timestamp\":5}"), 1, "n");
        assertThat(events)
                .containsExactly(new BrokerEvent.ClientConnected("a/b", "n", null, 5000L, BrokerEvent.NO_VERSION));
    }

    @Test
    void otherEventsAreIgnoredAndBadOnesRefused() {
        assertThat(AwsIotEventDecoder.decode("$aws/events/presence/connect_failed/c", json("{}"), 1, "n"))
                .isEmpty();
        assertThat(AwsIotEventDecoder.decode("$aws/events/thing/t/created", json("{}"), 1, "n"))
                .isEmpty();
        assertThatThrownBy(() -> AwsIotEventDecoder.decode("$aws/events/presence/connected/c", json("[]"), 1, "n"))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("invalid_json"));
        assertThatThrownBy(() -> AwsIotEventDecoder.decode(
                        "$aws/events/subscriptions/subscribed/c", json("{\"clientId\":\"c\"}"), 1, "n"))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("missing_field"));
        assertThatThrownBy(() -> AwsIotEventDecoder.decode(
                        "$aws/events/subscriptions/subscribed/c",
                        json("{\"clientId\":\"c\",\"topics\":[\"a\", 3]}"),
                        1,
                        "n"))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("missing_field"));
        assertThatThrownBy(() -> AwsIotEventDecoder.decode(
                        "$aws/events/presence/connected/c",
                        json("{\"clientId\":\"c\",\"versionNumber\":\"x\"}"),
                        1,
                        "n"))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("invalid_version"));
        assertThatThrownBy(() -> AwsIotEventDecoder.decode(
                        "$aws/events/presence/connected/c",
                        json("{\"clientId\":\"c\",\"eventType\":\"disconnected\"}"),
                        1,
                        "n"))
                .isInstanceOfSatisfying(
                        MalformedEventException.class,
                        e -> assertThat(e.reason()).isEqualTo("event_mismatch"));
    }
}
